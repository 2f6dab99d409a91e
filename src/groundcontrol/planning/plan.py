"""Pure planning: given an event, what the case knew before and the customer, what to do.

No I/O: the store calls `plan_event` inside the transaction that records the event and
applies the returned `Plan` in that same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from groundcontrol.domain import CaseState, ChannelName, Customer, Event, NotificationKind, Priority
from groundcontrol.durations import format_duration
from groundcontrol.planning.golden_thread import Thread, after_event
from groundcontrol.planning.journeys import FollowUp, Journeys, Rule
from groundcontrol.planning.promises import QuietWindow, holding, keep_cadence, keep_promise


class Outcome(StrEnum):
    PLANNED = "planned"  # messages and/or follow-ups scheduled
    NO_RULE = "no_rule"  # recorded; the journeys say nothing for this status
    STALE = "stale"  # older than what the case already knows: recorded, sends nothing
    UNCHANGED = "unchanged"  # same status again: data refreshed, no new message
    UNREACHABLE = "unreachable"  # a rule applies but the customer has no usable channel


@dataclass(frozen=True)
class PlannedNotification:
    kind: NotificationKind
    template: str
    status: str
    channel: ChannelName
    priority: Priority
    due_at: datetime
    note: str = ""


@dataclass(frozen=True)
class PlannedFollowUp:
    template: str
    due_at: datetime
    every: timedelta | None
    max: int
    note: str = ""  # why it is due when it is (a promise kept), for the timeline


@dataclass(frozen=True)
class Plan:
    outcome: Outcome
    priority: Priority
    notifications: tuple[PlannedNotification, ...] = ()
    follow_up: PlannedFollowUp | None = None
    # A newer status drops what the older one still had pending (newest state wins).
    supersede_pending: bool = False
    note: str = ""
    thread: Thread | None = None  # the case's golden thread after this event

    @property
    def advances_case(self) -> bool:
        return self.outcome is not Outcome.STALE


# Given the event, what the case knew before and the customer (after the inline
# upsert), decide what to do. Pure; called inside the recording transaction.
Planner = Callable[[Event, CaseState | None, Customer], Plan]


def usable_channels(customer: Customer, exclude: Iterable[ChannelName] = ()) -> list[ChannelName]:
    """The customer's preference order, minus opted-out, address-less and excluded channels."""
    skip = set(exclude)
    return [c for c in customer.preferred_channels if c not in skip and customer.can_receive(c)]


def next_channel(customer: Customer, tried: Iterable[ChannelName]) -> ChannelName | None:
    remaining = usable_channels(customer, exclude=tried)
    return remaining[0] if remaining else None


def is_stale(event: Event, case: CaseState | None) -> bool:
    if case is None:
        return False
    if event.sequence is not None and case.sequence is not None:
        return event.sequence <= case.sequence
    return event.occurred_at < case.status_at


def effective_priority(event: Event, rule: Rule | None) -> Priority:
    if event.priority is not None:
        return event.priority
    return rule.priority if rule else Priority.NORMAL


def plan_event(
    event: Event,
    case: CaseState | None,
    customer: Customer,
    journeys: Journeys,
    now: datetime,
    quiet: QuietWindow | None = None,
) -> Plan:
    plan = _plan_messages(event, case, customer, journeys, now)
    if not plan.advances_case:
        return plan
    before = case.thread if case is not None else None
    plan = replace(plan, thread=after_event(before, journeys, event.status, now))
    return _keep_promise(plan, customer, now, quiet)


def _keep_promise(plan: Plan, customer: Customer, now: datetime, quiet: QuietWindow | None) -> Plan:
    """Plan the follow-up to land before the promise breaks (planning/promises.py)."""
    thread, follow_up = plan.thread, plan.follow_up
    if follow_up is None or thread is None or not thread.open or thread.promise is None:
        return plan
    # The status message (when there is one) is the next contact; the promise runs from it.
    contact = min((n.due_at for n in plan.notifications), default=thread.dark_since)
    kept = keep_promise(
        follow_up.due_at,
        contact + thread.promise,
        now=now,
        quiet=holding(quiet, plan.priority, customer),
        timezone=customer.timezone,
    )
    cadence = keep_cadence(follow_up.every, thread.promise)
    reasons = [reason for reason in (kept.reason, cadence and cadence.reason) if reason]
    if not reasons:
        return plan
    every = cadence.every if cadence is not None else follow_up.every
    kept_follow_up = replace(follow_up, due_at=kept.due, every=every, note="; ".join(reasons))
    return replace(plan, follow_up=kept_follow_up)


def _plan_messages(
    event: Event, case: CaseState | None, customer: Customer, journeys: Journeys, now: datetime
) -> Plan:
    rule = journeys.rule_for(event.status)
    priority = effective_priority(event, rule)
    if is_stale(event, case):
        assert case is not None
        return Plan(Outcome.STALE, priority, note=f"older than the current status {case.status!r}")
    if case is not None and case.status == event.status:
        return Plan(Outcome.UNCHANGED, priority, note=f"status is already {event.status!r}")
    if rule is None:
        return Plan(Outcome.NO_RULE, priority, supersede_pending=True, note="no journey rule")
    return _plan_rule(event, rule, customer, priority, now)


def _plan_rule(
    event: Event, rule: Rule, customer: Customer, priority: Priority, now: datetime
) -> Plan:
    follow_up = _plan_follow_up(rule.follow_up, now)
    channel = next_channel(customer, tried=())
    if channel is None:
        return Plan(
            Outcome.UNREACHABLE,
            priority,
            follow_up=None,
            supersede_pending=True,
            note="customer has no usable channel",
        )
    delay = rule.coalesce or timedelta(0)
    note = f"coalescing changes for {format_duration(delay)}" if delay else ""
    message = PlannedNotification(
        kind=NotificationKind.STATUS,
        template=rule.template,
        status=event.status,
        channel=channel,
        priority=priority,
        due_at=now + delay,
        note=note,
    )
    return Plan(
        Outcome.PLANNED,
        priority,
        notifications=(message,),
        follow_up=follow_up,
        supersede_pending=True,
    )


def _plan_follow_up(follow_up: FollowUp | None, now: datetime) -> PlannedFollowUp | None:
    if follow_up is None:
        return None
    return PlannedFollowUp(
        template=follow_up.template,
        due_at=follow_up.first_due(now),
        every=follow_up.every,
        max=follow_up.max,
    )


def planner_for(journeys: Journeys, now: datetime, quiet: QuietWindow | None = None) -> Planner:
    """`plan_event` with the journeys, the time and the quiet hours fixed: what the store
    calls per event."""

    def plan(event: Event, case: CaseState | None, customer: Customer) -> Plan:
        return plan_event(event, case, customer, journeys, now, quiet)

    return plan
