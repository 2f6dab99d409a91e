"""Promises kept by construction: a planned contact moves before the deadline and out of
quiet hours that would end after it; check flags a cadence that cannot keep a promise."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from groundcontrol.delivery.quiet_hours import QuietHours
from groundcontrol.planning.journeys import parse_journeys
from groundcontrol.planning.promises import SEND_MARGIN, cadence_problems, keep_promise

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 11:00 in Amsterdam
H = timedelta(hours=1)
QUIET = QuietHours(start=time(21), end=time(8)).window_around
AMSTERDAM = "Europe/Amsterdam"


def test_a_contact_before_the_deadline_and_outside_quiet_hours_stays() -> None:
    kept = keep_promise(T0 + 2 * H, T0 + 5 * H, now=T0, quiet=QUIET, timezone=AMSTERDAM)
    assert (kept.due, kept.reason) == (T0 + 2 * H, "")


def test_no_promise_changes_nothing() -> None:
    assert keep_promise(T0 + 99 * H, None, now=T0, quiet=QUIET, timezone=None).due == T0 + 99 * H


def test_a_contact_past_the_deadline_moves_just_before_it() -> None:
    kept = keep_promise(T0 + 5 * H, T0 + 3 * H, now=T0, quiet=None, timezone=None)
    assert kept.due == T0 + 3 * H - SEND_MARGIN
    assert "promise breaks at" in kept.reason


def test_quiet_hours_ending_after_the_deadline_move_it_before_they_begin() -> None:
    # Due 23:00 local, deadline 07:00 local, quiet 21:00-08:00: send at 20:59 local.
    due, deadline = T0 + 12 * H, T0 + 20 * H
    kept = keep_promise(due, deadline, now=T0, quiet=QUIET, timezone=AMSTERDAM)
    assert kept.due == T0 + 10 * H - SEND_MARGIN  # 21:00 in Amsterdam is 20:00 UTC
    assert "before quiet hours begin" in kept.reason


def test_quiet_hours_ending_before_the_deadline_are_waited_out() -> None:
    due, deadline = T0 + 12 * H, T0 + 30 * H
    assert keep_promise(due, deadline, now=T0, quiet=QUIET, timezone=AMSTERDAM).reason == ""


def test_with_no_allowed_moment_left_it_goes_as_soon_as_possible() -> None:
    night = T0 + 12 * H  # 23:00 local, quiet until 08:00, promise breaks at 02:00
    kept = keep_promise(night + H, night + 3 * H, now=night, quiet=QUIET, timezone=AMSTERDAM)
    assert kept.due == night
    assert "no allowed moment" in kept.reason


def journeys(follow_up: dict[str, object] | None, promise: str = "72h") -> list[str]:
    rule: dict[str, object] = {"status": "received", "template": "t"}
    if follow_up is not None:
        rule["follow_up"] = {"template": "t", **follow_up}
    final = {"status": "resolved", "template": "t", "final": True}
    return cadence_problems(
        parse_journeys({"defaults": {"promise": promise}, "rules": [rule, final]})
    )


def test_check_accepts_a_cadence_within_the_promise() -> None:
    assert journeys({"after": "48h", "every": "72h", "max": 3}) == []


def test_check_flags_a_rule_with_a_promise_and_no_follow_up() -> None:
    assert journeys(None) == [
        "journey rule for status 'received': promise 3d but no follow_up: a case waiting "
        "here breaks it"
    ]


def test_check_flags_after_or_every_longer_than_the_promise() -> None:
    problems = journeys({"after": "4d", "every": "5d", "max": 2})
    assert [p.split(": ", 1)[1] for p in problems] == [
        "follow_up.after 4d is longer than the promise 3d",
        "follow_up.every 5d is longer than the promise 3d",
    ]


def test_check_ignores_every_when_there_is_one_follow_up_only() -> None:
    assert journeys({"after": "1d", "every": "5d", "max": 1}) == []
