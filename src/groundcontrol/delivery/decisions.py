"""Pure delivery decisions: before a send (still wanted? allowed now?) and after it
(sent, retry when, or fail over to which channel). No I/O, injected time."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from groundcontrol.channels.base import Receipt
from groundcontrol.delivery.frequency import FrequencyCap
from groundcontrol.delivery.quiet_hours import QuietHours
from groundcontrol.delivery.retry import RetryPolicy
from groundcontrol.domain import ChannelName, Customer, NotificationKind, Priority
from groundcontrol.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from groundcontrol.planning.plan import next_channel
from groundcontrol.planning.transitions import QUIET_HOURS_DETAIL
from groundcontrol.store.contract import Claim, Decision, DecisionKind


@dataclass(frozen=True)
class DeliveryPolicies:
    retry: RetryPolicy
    quiet_hours: QuietHours
    cap: FrequencyCap

    @property
    def caps_anything(self) -> bool:
        return self.cap.per_hour is not None or self.cap.per_day is not None


def still_wanted(claim: Claim) -> Decision | None:
    """Supersede or re-route a claim the world has moved past since it was planned."""
    if claim.kind is NotificationKind.TEST:
        return None
    if claim.status != claim.case.status:
        return Decision(DecisionKind.SUPERSEDE, detail=f"case is now {claim.case.status!r}")
    if not claim.customer.can_receive(claim.channel):
        reason = f"customer can no longer receive {claim.channel}"
        fallback = fallback_channel(claim)
        if fallback is None:
            return Decision(DecisionKind.CANCEL, detail=reason)
        return Decision(DecisionKind.FAIL, detail=reason, fallback_channel=fallback)
    return None


def quiet_deferral(claim: Claim, quiet: QuietHours, now: datetime) -> Decision | None:
    if claim.kind is NotificationKind.TEST or not quiet.applies_to(claim.priority):
        return None
    if not claim.customer.quiet_hours:  # the customer turned them off on the case page
        return None
    until = quiet.defer_until(now, claim.customer.timezone)
    if until is None:
        return None
    return Decision(DecisionKind.DEFER, detail=QUIET_HOURS_DETAIL, at=until)


def cap_deferral(
    claim: Claim, cap: FrequencyCap, sent_at: Sequence[datetime], now: datetime
) -> Decision | None:
    if claim.kind is NotificationKind.TEST:
        return None
    verdict = cap.decide(sent_at, now, claim.priority)
    if verdict.allowed or verdict.retry_at is None:
        return None
    return Decision(
        DecisionKind.DEFER, detail=f"frequency cap: {verdict.reason}", at=verdict.retry_at
    )


def after_receipt(receipt: Receipt) -> Decision:
    return Decision(
        DecisionKind.SENT,
        detail=receipt.detail,
        provider_id=receipt.provider_id,
        segments=receipt.segments,
    )


def after_error(
    claim: Claim,
    error: DeliveryError,
    retry: RetryPolicy,
    now: datetime,
    rand: Callable[[], float] = random.random,
) -> Decision:
    detail = str(error)
    if isinstance(error, TransientDeliveryError):
        at = retry.next_attempt(claim.attempt, now, retry_after=error.retry_after, rand=rand)
        if at is not None:
            return Decision(
                DecisionKind.RETRY, detail=detail, at=at, outcome_unknown=error.outcome_unknown
            )
        detail = f"gave up after {claim.attempt} attempts: {detail}"
        return Decision(DecisionKind.FAIL, detail=detail, fallback_channel=fallback_channel(claim))
    opt_out = isinstance(error, PermanentDeliveryError) and error.opt_out
    disable = isinstance(error, PermanentDeliveryError) and error.disable_address
    return Decision(
        DecisionKind.FAIL,
        detail=detail,
        fallback_channel=fallback_channel(claim, opt_out=opt_out, disable=disable),
        opt_out=opt_out,
        disable_address=disable,
        invalid_address=isinstance(error, PermanentDeliveryError) and error.invalid_address,
    )


def fallback_channel(
    claim: Claim, *, opt_out: bool = False, disable: bool = False
) -> ChannelName | None:
    """The next channel in the customer's order that this story has not tried."""
    if claim.kind is NotificationKind.TEST:
        return None
    customer: Customer = claim.customer
    if opt_out:
        customer = replace(customer, opted_out=customer.opted_out | {claim.channel})
    if disable and claim.channel == "chat":
        customer = replace(customer, chat_webhook=None)
    return next_channel(customer, tried=[*claim.tried_channels, claim.channel])


def bypasses_limits(priority: Priority) -> bool:
    return priority is Priority.URGENT
