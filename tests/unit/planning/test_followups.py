"""Firing a due follow-up, without a store: the rows and entries `fire` decides."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from groundcontrol.domain import Customer, Priority
from groundcontrol.planning.followups import SKIPPED, DueFollowUp, fire

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
