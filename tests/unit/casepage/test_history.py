"""The timeline in the customer's terms: status changes, messages sent, their choices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from groundcontrol.casepage.history import CASE_PAGE_REASON, Step, customer_history
from groundcontrol.store.contract import TimelineEntry

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def entry(kind: str, minutes: int = 0, **detail: Any) -> TimelineEntry:
    return TimelineEntry(T0 + timedelta(minutes=minutes), kind, "C-1", None, detail)


def test_status_changes_messages_and_choices_are_shown_in_order() -> None:
    steps = customer_history(
        [
            entry("event", 0, status="received", outcome="planned"),
            entry("planned", 0, channel="email"),
            entry("sent", 1, channel="email"),
            entry("preferences_changed", 2, channel_order=["sms"], quiet_hours=True),
            entry("opted_out", 3, channel="sms", reason="STOP"),
        ]
    )
    assert steps == [
        Step(T0, "status", status="received"),
        Step(T0 + timedelta(minutes=1), "message", channel="email"),
        Step(T0 + timedelta(minutes=2), "preferences"),
        Step(T0 + timedelta(minutes=3), "opted_out", channel="sms"),
    ]


def test_internal_steps_and_the_customers_own_views_stay_out() -> None:
    hidden = [
        entry(kind)
        for kind in ("planned", "deferred", "retry_scheduled", "superseded", "viewed", "failed")
    ]
    assert customer_history(hidden) == []


def test_events_that_changed_nothing_stay_out() -> None:
    steps = customer_history(
        [
            entry("event", status="received", outcome="stale"),
            entry("event", status="received", outcome="unchanged"),
            entry("event", status="archived", outcome="no_rule"),
        ]
    )
    assert steps == [Step(T0, "status", status="archived")]


def test_an_opt_out_through_the_page_is_part_of_its_preferences_line() -> None:
    steps = customer_history(
        [
            entry("opted_out", channel="email", reason=CASE_PAGE_REASON),
            entry("preferences_changed", channel_order=["sms", "email"], quiet_hours=True),
        ]
    )
    assert [s.kind for s in steps] == ["preferences"]
