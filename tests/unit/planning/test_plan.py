"""plan_event: what an event means for a case, its customer and the journeys."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from groundcontrol.domain import CaseState, Customer, CustomerPatch, Event, Priority
from groundcontrol.planning.journeys import parse_journeys
from groundcontrol.planning.plan import Outcome, next_channel, plan_event, usable_channels

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
JOURNEYS = parse_journeys(
    {
        "rules": [
            {
                "status": "received",
                "template": "case_received",
                "follow_up": {
                    "after": "48h",
                    "template": "still_working",
                    "every": "72h",
                    "max": 3,
                },
            },
            {"status": "in_progress", "template": "case_in_progress", "coalesce": "30s"},
            {"status": "waiting", "template": "waiting_on_customer", "priority": "high"},
        ]
    }
)
ADA = Customer(
    id="cust-1",
    email="ada@example.com",
    phone="+31612345678",
    channels=("sms", "email", "chat"),
)
EVENT = Event(
    source="demo",
    id="evt-2",
    case_id="C-1",
    status="in_progress",
    occurred_at=NOW,
    customer=CustomerPatch("cust-1"),
)
CASE = CaseState(
    id="C-1",
    customer_id="cust-1",
    status="received",
    previous_status=None,
    status_at=NOW - timedelta(hours=1),
    sequence=None,
    priority=Priority.NORMAL,
    data={},
)


def plan(event: Event = EVENT, case: CaseState | None = CASE, customer: Customer = ADA):  # type: ignore[no-untyped-def]
    return plan_event(event, case, customer, JOURNEYS, NOW)


def test_a_new_status_plans_a_message_on_the_first_usable_channel() -> None:
    result = plan(replace(EVENT, status="received"), case=None)
    assert result.outcome is Outcome.PLANNED
    [message] = result.notifications
    assert (message.channel, message.template, message.due_at) == ("sms", "case_received", NOW)
    assert result.supersede_pending
    assert result.follow_up is not None
    assert (result.follow_up.due_at, result.follow_up.every, result.follow_up.max) == (
        NOW + timedelta(hours=48),
        timedelta(hours=72),
        3,
    )


def test_an_event_older_than_the_case_is_stale() -> None:
    older = replace(EVENT, occurred_at=CASE.status_at - timedelta(seconds=1))
    result = plan(older)
    assert (result.outcome, result.notifications, result.advances_case) == (
        Outcome.STALE,
        (),
        False,
    )
    assert "received" in result.note


def test_an_event_at_the_same_instant_is_not_stale() -> None:
    assert plan(replace(EVENT, occurred_at=CASE.status_at)).outcome is Outcome.PLANNED


@pytest.mark.parametrize(("sequence", "stale"), [(4, True), (5, True), (6, False)])
def test_sequence_numbers_win_over_timestamps(sequence: int, stale: bool) -> None:
    case = replace(CASE, sequence=5, status_at=NOW + timedelta(hours=1))  # clock skew
    result = plan(replace(EVENT, sequence=sequence), case=case)
    assert (result.outcome is Outcome.STALE) is stale


def test_the_same_status_again_is_unchanged_and_sends_nothing() -> None:
    result = plan(replace(EVENT, status="received"))
    assert (result.outcome, result.notifications, result.supersede_pending) == (
        Outcome.UNCHANGED,
        (),
        False,
    )


def test_a_status_without_a_rule_sends_nothing_but_supersedes() -> None:
    result = plan(replace(EVENT, status="archived"))
    assert (result.outcome, result.notifications, result.supersede_pending) == (
        Outcome.NO_RULE,
        (),
        True,
    )


def test_a_customer_without_a_usable_channel_is_unreachable() -> None:
    nobody = replace(ADA, channels=("chat",))  # no chat webhook
    result = plan(customer=nobody)
    assert (result.outcome, result.notifications, result.follow_up) == (
        Outcome.UNREACHABLE,
        (),
        None,
    )
    assert result.supersede_pending


def test_a_coalescing_rule_delays_the_message() -> None:
    [message] = plan().notifications
    assert message.due_at == NOW + timedelta(seconds=30)
    assert message.note == "coalescing changes for 30s"


def test_priority_comes_from_the_event_before_the_rule() -> None:
    waiting = replace(EVENT, status="waiting")
    assert plan(waiting).priority is Priority.HIGH
    assert plan(replace(waiting, priority=Priority.LOW)).priority is Priority.LOW
    [message] = plan(replace(waiting, priority=Priority.URGENT)).notifications
    assert message.priority is Priority.URGENT


def test_priority_defaults_to_normal_without_a_rule() -> None:
    assert plan(replace(EVENT, status="archived")).priority is Priority.NORMAL


def test_channel_order_skips_opt_outs_and_missing_addresses() -> None:
    opted = replace(ADA, opted_out=frozenset({"sms"}))
    assert usable_channels(opted) == ["email"]  # chat has no address
    [message] = plan(customer=opted).notifications
    assert message.channel == "email"


def test_next_channel_excludes_what_was_tried() -> None:
    assert next_channel(ADA, tried=["sms"]) == "email"
    assert next_channel(ADA, tried=["sms", "email"]) is None


def test_the_customers_own_channel_order_comes_before_the_back_offices() -> None:
    chosen = replace(ADA, channel_order=("email", "sms"))
    assert usable_channels(chosen) == ["email", "sms"]
    [message] = plan(customer=chosen).notifications
    assert message.channel == "email"
    assert next_channel(chosen, tried=["email"]) == "sms"


def test_a_chosen_channel_the_back_office_does_not_list_is_not_used() -> None:
    chosen = replace(ADA, channels=("sms",), channel_order=("email", "sms"))
    assert usable_channels(chosen) == ["sms"]
