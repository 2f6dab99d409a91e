"""Pure delivery decisions: still wanted, quiet hours, cap, and what follows a send."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from groundcontrol.channels.base import Receipt
from groundcontrol.delivery import decisions as delivery
from groundcontrol.delivery.frequency import FrequencyCap
from groundcontrol.delivery.quiet_hours import QuietHours
from groundcontrol.delivery.retry import RetryPolicy
from groundcontrol.domain import CaseState, Customer, NotificationKind, Priority
from groundcontrol.errors import PermanentDeliveryError, TransientDeliveryError
from groundcontrol.store.contract import Claim, DecisionKind

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RETRY = RetryPolicy(initial=timedelta(seconds=30), maximum=timedelta(hours=1), max_attempts=3)
QUIET = QuietHours(start=time(21), end=time(8))
ADA = Customer(
    id="cust-1",
    email="ada@example.com",
    phone="+31612345678",
    chat_webhook="https://chat.example.com/hooks/abc",
    timezone="Europe/Amsterdam",
    channels=("email", "sms", "chat"),
)
CLAIM = Claim(
    notification_id="n-1",
    lease_version=1,
    attempt=1,
    kind=NotificationKind.STATUS,
    template="case_received",
    status="received",
    channel="email",
    priority=Priority.NORMAL,
    message_key="msg-1",
    case=CaseState(
        id="C-1",
        customer_id="cust-1",
        status="received",
        previous_status=None,
        status_at=NOW,
        sequence=None,
        priority=Priority.NORMAL,
        data={},
    ),
    customer=ADA,
    event={},
    tried_channels=(),
    due_at=NOW,
    created_at=NOW,
)


def claim(**changes: object) -> Claim:
    return replace(CLAIM, **changes)  # type: ignore[arg-type]


def half() -> float:
    return 0.5


# --- before a send --------------------------------------------------------------------


def test_a_claim_for_the_current_status_is_still_wanted() -> None:
    assert delivery.still_wanted(CLAIM) is None


def test_a_claim_for_an_older_status_is_superseded() -> None:
    moved = claim(case=replace(CLAIM.case, status="resolved"))
    decision = delivery.still_wanted(moved)
    assert decision is not None
    assert (decision.kind, decision.detail) == (DecisionKind.SUPERSEDE, "case is now 'resolved'")


def test_an_opted_out_channel_falls_back_to_the_next_one() -> None:
    opted_out = claim(customer=replace(ADA, opted_out=frozenset({"email"})))
    decision = delivery.still_wanted(opted_out)
    assert decision is not None
    assert (decision.kind, decision.fallback_channel) == (DecisionKind.FAIL, "sms")


def test_an_opted_out_channel_with_nothing_left_is_cancelled() -> None:
    alone = claim(customer=replace(ADA, channels=("email",), opted_out=frozenset({"email"})))
    decision = delivery.still_wanted(alone)
    assert decision is not None and decision.kind is DecisionKind.CANCEL


def test_test_messages_skip_every_check() -> None:
    test = claim(
        kind=NotificationKind.TEST,
        case=replace(CLAIM.case, status="resolved"),
        customer=replace(ADA, opted_out=frozenset({"email"})),
    )
    night = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert delivery.still_wanted(test) is None
    assert delivery.quiet_deferral(test, QUIET, night) is None
    assert delivery.cap_deferral(test, FrequencyCap(per_hour=1), [night], night) is None
    assert delivery.fallback_channel(test) is None


def test_quiet_hours_defer_to_the_local_morning() -> None:
    night = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 23:00 in Amsterdam
    decision = delivery.quiet_deferral(CLAIM, QUIET, night)
    assert decision is not None
    assert (decision.kind, decision.at) == (
        DecisionKind.DEFER,
        datetime(2026, 11, 24, 7, 0, tzinfo=UTC),
    )
    assert delivery.quiet_deferral(CLAIM, QUIET, NOW) is None


def test_a_customer_who_turned_quiet_hours_off_is_not_held() -> None:
    night = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 23:00 in Amsterdam
    awake = claim(customer=replace(CLAIM.customer, quiet_hours=False))
    assert delivery.quiet_deferral(awake, QUIET, night) is None


def test_urgent_messages_are_not_held_by_quiet_hours_or_the_cap() -> None:
    urgent = claim(priority=Priority.URGENT)
    night = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert delivery.quiet_deferral(urgent, QUIET, night) is None
    assert delivery.cap_deferral(urgent, FrequencyCap(per_hour=1), [night], night) is None
    assert delivery.bypasses_limits(Priority.URGENT)
    assert not delivery.bypasses_limits(Priority.HIGH)


def test_the_cap_defers_until_the_oldest_send_ages_out() -> None:
    sent = [NOW - timedelta(minutes=20)]
    decision = delivery.cap_deferral(CLAIM, FrequencyCap(per_hour=1), sent, NOW)
    assert decision is not None
    assert (decision.kind, decision.at) == (DecisionKind.DEFER, NOW + timedelta(minutes=40))
    assert decision.detail.startswith("frequency cap: ")
    assert delivery.cap_deferral(CLAIM, FrequencyCap(per_hour=2), sent, NOW) is None


def test_policies_cap_anything_only_with_a_limit() -> None:
    free = delivery.DeliveryPolicies(RETRY, QUIET, FrequencyCap())
    assert not free.caps_anything
    assert replace(free, cap=FrequencyCap(per_day=3)).caps_anything


# --- after a send ------------------------------------------------------------------------


def test_a_receipt_is_sent_with_its_provider_id_and_segments() -> None:
    decision = delivery.after_receipt(Receipt(provider_id="SM1", detail="queued", segments=2))
    assert (decision.kind, decision.provider_id, decision.segments, decision.detail) == (
        DecisionKind.SENT,
        "SM1",
        2,
        "queued",
    )


def test_a_transient_error_retries_after_the_jittered_backoff() -> None:
    error = TransientDeliveryError("503", outcome_unknown=True)
    decision = delivery.after_error(CLAIM, error, RETRY, NOW, rand=half)
    assert (decision.kind, decision.at, decision.outcome_unknown) == (
        DecisionKind.RETRY,
        NOW + timedelta(seconds=15),
        True,
    )


def test_retry_after_is_honoured() -> None:
    error = TransientDeliveryError("429", retry_after=timedelta(minutes=5))
    decision = delivery.after_error(CLAIM, error, RETRY, NOW, rand=half)
    assert decision.at == NOW + timedelta(minutes=5)


def test_exhausted_attempts_fail_over_to_the_next_channel() -> None:
    last = claim(attempt=RETRY.max_attempts)
    decision = delivery.after_error(last, TransientDeliveryError("503"), RETRY, NOW, rand=half)
    assert (decision.kind, decision.fallback_channel) == (DecisionKind.FAIL, "sms")
    assert decision.detail == "gave up after 3 attempts: 503"


def test_a_permanent_error_fails_over_at_once() -> None:
    decision = delivery.after_error(CLAIM, PermanentDeliveryError("550"), RETRY, NOW)
    assert (decision.kind, decision.fallback_channel, decision.opt_out) == (
        DecisionKind.FAIL,
        "sms",
        False,
    )


def test_a_provider_opt_out_is_passed_on_and_skips_that_channel() -> None:
    sms = claim(channel="sms", tried_channels=("email",))
    error = PermanentDeliveryError("21610", opt_out=True)
    decision = delivery.after_error(sms, error, RETRY, NOW)
    assert (decision.opt_out, decision.fallback_channel) == (True, "chat")


def test_a_gone_chat_address_is_disabled_and_nothing_is_left() -> None:
    chat = claim(channel="chat", tried_channels=("email", "sms"))
    error = PermanentDeliveryError("410 Gone", disable_address=True)
    decision = delivery.after_error(chat, error, RETRY, NOW)
    assert (decision.kind, decision.disable_address, decision.fallback_channel) == (
        DecisionKind.FAIL,
        True,
        None,
    )


@pytest.mark.parametrize(
    ("tried", "expected"),
    [((), "sms"), (("sms",), "chat"), (("sms", "chat"), None)],
)
def test_fallback_skips_channels_the_story_already_tried(
    tried: tuple[str, ...], expected: str | None
) -> None:
    assert delivery.fallback_channel(claim(tried_channels=tried)) == expected


def test_fallback_skips_channels_without_an_address() -> None:
    no_phone = claim(customer=replace(ADA, phone=None))
    assert delivery.fallback_channel(no_phone) == "chat"
