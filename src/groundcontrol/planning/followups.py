"""Firing a due follow-up: a "still working" message now (or a skip), then the next one.

Pure: the engine hands over the due follow-up, its customer and the case's unsent
customer-facing message (if any), and writes the `Firing` it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from groundcontrol.domain import Customer, NotificationKind, Priority
from groundcontrol.planning.plan import PlannedNotification, next_channel
from groundcontrol.planning.rows import Entry, notification_row, planned_entries

SKIPPED = "an earlier message of the case has not gone out yet"


@dataclass(frozen=True)
class DueFollowUp:
    """A pending follow-up whose time has come, as the engine read it."""

    id: int
    case_id: str
    customer_id: str
    status: str
    template: str
    priority: Priority
    due_at: datetime
    every: timedelta | None
    max_count: int
    fired: int


@dataclass(frozen=True)
class Firing:
    """What firing writes: timeline entries, maybe a notification, the follow-up's update."""

    entries: list[Entry]
    notification: dict[str, Any] | None
    changes: dict[str, Any]


def fire(follow_up: DueFollowUp, customer: Customer, unsent: str | None, now: datetime) -> Firing:
    fired = follow_up.fired + 1
    detail = {"follow_up_id": follow_up.id, "template": follow_up.template, "repeat": fired}
    changes = _next_repetition(follow_up, fired, now)
    if unsent is not None:
        # The customer is about to hear from us anyway (that message was deferred by
        # quiet hours or the cap): a "still working" on top of it would be noise.
        return Firing([("follow_up_skipped", unsent, detail | {"reason": SKIPPED})], None, changes)
    channel = next_channel(customer, tried=())
    if channel is None:
        unreachable = detail | {"reason": "no usable channel"}
        return Firing([("unreachable", None, unreachable)], None, changes)
    planned = PlannedNotification(
        kind=NotificationKind.FOLLOW_UP,
        template=follow_up.template,
        status=follow_up.status,
        channel=channel,
        priority=follow_up.priority,
        due_at=now,
    )
    row = notification_row(
        case_id=follow_up.case_id, customer_id=customer.id, planned=planned, now=now
    )
    entries = [("follow_up_fired", row["id"], detail), *planned_entries([row], ["follow-up"])]
    return Firing(entries, row, changes)


def _next_repetition(follow_up: DueFollowUp, fired: int, now: datetime) -> dict[str, Any]:
    every = follow_up.every
    if every is None or fired >= follow_up.max_count:
        return {"fired": fired, "state": "done", "updated_at": now}
    # Keep the cadence; after a long outage, one catch-up rather than a burst.
    next_due = follow_up.due_at + every
    if next_due <= now:
        next_due = now + every
    return {"fired": fired, "due_at": next_due, "updated_at": now}
