"""Firing a due follow-up, without a store: the rows and entries `fire` decides."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from groundcontrol.domain import Customer, Priority
from groundcontrol.planning.followups import SKIPPED, DueFollowUp, fire
from groundcontrol.planning.golden_thread import Thread

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ADA = Customer("cust-1", email="ada@example.com", phone="+31612345678", channels=("sms", "email"))
DUE = DueFollowUp(
    id=7,
    case_id="C-1",
    customer_id="cust-1",
    status="received",
    template="still_working",
    priority=Priority.HIGH,
    due_at=NOW,
    every=timedelta(hours=2),
    max_count=3,
    fired=0,
)


def test_a_due_follow_up_plans_a_message_now_on_the_preferred_channel() -> None:
    firing = fire(DUE, ADA, None, NOW)

    row = firing.notification
    assert row is not None
    assert (row["kind"], row["channel"], row["due_at"], row["priority"]) == (
        "follow_up",
        "sms",
        NOW,
        int(Priority.HIGH),
    )
    assert [(kind, nid) for kind, nid, _ in firing.entries] == [
        ("follow_up_fired", row["id"]),
        ("planned", row["id"]),
    ]
    assert firing.entries[0][2] == {"follow_up_id": 7, "template": "still_working", "repeat": 1}
    assert firing.changes == {"fired": 1, "due_at": NOW + timedelta(hours=2), "updated_at": NOW}


def test_an_unsent_message_of_the_case_skips_the_follow_up_but_keeps_the_cadence() -> None:
    firing = fire(DUE, ADA, "n_waiting", NOW)

    assert firing.notification is None
    [(kind, nid, detail)] = firing.entries
    assert (kind, nid, detail["reason"]) == ("follow_up_skipped", "n_waiting", SKIPPED)
    assert firing.changes["due_at"] == NOW + timedelta(hours=2)


def test_a_customer_with_no_usable_channel_is_unreachable() -> None:
    firing = fire(DUE, replace(ADA, opted_out=frozenset({"sms", "email"})), None, NOW)

    assert firing.notification is None
    assert [kind for kind, _, _ in firing.entries] == ["unreachable"]


def test_the_last_repetition_is_done_and_a_late_one_catches_up_once() -> None:
    last = fire(replace(DUE, fired=2), ADA, None, NOW)
    late = fire(replace(DUE, due_at=NOW - timedelta(hours=5)), ADA, None, NOW)

    assert last.changes == {"fired": 3, "state": "done", "updated_at": NOW}
    assert late.changes["due_at"] == NOW + timedelta(hours=2)


# --- each repetition keeps the case's promise -------------------------------------------------

PROMISE = timedelta(hours=12)
THREAD = Thread(open=True, opened_at=NOW, dark_since=NOW, promise=PROMISE)
EVERY_11H = replace(DUE, every=timedelta(hours=11))


def night(at: datetime, timezone: str | None) -> tuple[datetime, datetime] | None:
    """Quiet hours 22:00-07:00 UTC, as `QuietHours.window_around` answers."""
    day = at.date() if at.hour >= 22 else at.date() - timedelta(days=1)
    opens = datetime.combine(day, time(22), UTC)
    closes = opens + timedelta(hours=9)
    return (opens, closes) if opens <= at < closes else None


def test_a_repetition_quiet_hours_would_hold_past_the_promise_goes_before_they_begin() -> None:
    # Sent at 12:00, the promise breaks at 00:00; 11 h later is 23:00, held until 07:00.
    firing = fire(EVERY_11H, ADA, None, NOW, THREAD, night)

    before = datetime(2026, 11, 22, 21, 59, tzinfo=UTC)
    assert firing.changes["due_at"] == before
    detail = firing.entries[0][2]
    assert detail["next_due_at"] == before.isoformat()
    assert "quiet hours" in detail["note"]


def test_a_repetition_that_keeps_the_promise_keeps_its_cadence() -> None:
    long_promise = replace(THREAD, promise=timedelta(hours=24))

    firing = fire(EVERY_11H, ADA, None, NOW, long_promise, night)

    assert firing.changes["due_at"] == NOW + timedelta(hours=11)
    assert "next_due_at" not in firing.entries[0][2]


def test_an_urgent_repetition_is_not_held_by_quiet_hours_so_it_is_not_moved() -> None:
    urgent = replace(EVERY_11H, priority=Priority.URGENT)

    firing = fire(urgent, ADA, None, NOW, THREAD, night)

    assert firing.changes["due_at"] == NOW + timedelta(hours=11)


def test_a_skipped_firing_keeps_the_case_s_current_deadline() -> None:
    # Nothing goes out now, so the promise still runs from the last contact (11:00):
    # it breaks at 23:00, inside the quiet hours.
    earlier = replace(THREAD, dark_since=NOW - timedelta(hours=1))

    firing = fire(EVERY_11H, ADA, "n_waiting", NOW, earlier, night)

    assert firing.changes["due_at"] == datetime(2026, 11, 22, 21, 59, tzinfo=UTC)


def test_firing_inside_quiet_hours_does_not_repeat_at_once_when_no_moment_keeps_it() -> None:
    # At 23:00 the quiet hours began an hour ago: no moment before them lies ahead.
    late = replace(DUE, due_at=datetime(2026, 11, 22, 23, tzinfo=UTC))
    short = replace(THREAD, promise=timedelta(hours=4))

    firing = fire(late, ADA, None, late.due_at, short, night)

    assert firing.changes["due_at"] == late.due_at + timedelta(hours=2)
    assert "next_due_at" not in firing.entries[0][2]


def test_a_broken_promise_moves_nothing() -> None:
    broken = replace(THREAD, dark_since=NOW - timedelta(hours=13))

    firing = fire(EVERY_11H, ADA, "n_waiting", NOW, broken, night)

    assert firing.changes["due_at"] == NOW + timedelta(hours=11)


def test_a_customer_who_turned_quiet_hours_off_is_not_held_so_nothing_moves() -> None:
    awake = replace(ADA, quiet_hours=False)

    firing = fire(EVERY_11H, awake, None, NOW, THREAD, night)

    assert firing.changes["due_at"] == NOW + timedelta(hours=11)
