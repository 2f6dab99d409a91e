"""Firing a due follow-up: a "still working" message now (or a skip), then the next one.

Pure: the engine hands over the due follow-up, its customer and the case's unsent
customer-facing message (if any), and writes the `Firing` it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from groundcontrol.domain import Customer, NotificationKind, Priority
from groundcontrol.planning.golden_thread import Thread
from groundcontrol.planning.plan import PlannedNotification, next_channel
from groundcontrol.planning.promises import SEND_MARGIN, QuietWindow, holding, keep_promise
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


def fire(
    follow_up: DueFollowUp,
    customer: Customer,
    unsent: str | None,
    now: datetime,
    thread: Thread | None = None,
    quiet: QuietWindow | None = None,
) -> Firing:
    """Fire `follow_up` now. With the case's `thread` and the quiet hours, the next
    repetition is planned to keep the case's promise, as the first one was."""
    fired = follow_up.fired + 1
    channel = next_channel(customer, tried=()) if unsent is None else None
    deadline = _next_deadline(thread, sends_now=channel is not None, now=now)
    quiet = holding(quiet, follow_up.priority, customer)
    changes, moved = _next_repetition(follow_up, fired, now, deadline, quiet, customer.timezone)
    detail = {"follow_up_id": follow_up.id, "template": follow_up.template, "repeat": fired}
    detail |= moved
    if unsent is not None:
        # The customer is about to hear from us anyway (that message was deferred by
        # quiet hours or the cap): a "still working" on top of it would be noise.
        return Firing([("follow_up_skipped", unsent, detail | {"reason": SKIPPED})], None, changes)
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


def _next_deadline(thread: Thread | None, *, sends_now: bool, now: datetime) -> datetime | None:
    """When the case's promise breaks after this firing: a message sent now is the next
    contact, so the promise runs from now; otherwise the case's current deadline. None
    when there is no promise to keep, or it is already broken (nothing to move for)."""
    if thread is None or not thread.open or thread.promise is None:
        return None
    deadline = now + thread.promise if sends_now else thread.deadline
    if deadline is None or deadline <= now + SEND_MARGIN:
        return None
    return deadline


def _next_repetition(
    follow_up: DueFollowUp,
    fired: int,
    now: datetime,
    deadline: datetime | None,
    quiet: QuietWindow | None,
    timezone: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The follow-up's changes, and what goes on the timeline when the next repetition
    moved earlier to keep the promise."""
    every = follow_up.every
    if every is None or fired >= follow_up.max_count:
        return {"fired": fired, "state": "done", "updated_at": now}, {}
    # Keep the cadence; after a long outage, one catch-up rather than a burst.
    next_due = follow_up.due_at + every
    if next_due <= now:
        next_due = now + every
    kept = keep_promise(next_due, deadline, now=now, quiet=quiet, timezone=timezone)
    if not kept.reason or kept.due <= now:
        # Not moved; or no moment after now keeps it (this firing is inside the quiet
        # hours already): firing again at once would only repeat this one.
        return {"fired": fired, "due_at": next_due, "updated_at": now}, {}
    moved = {"next_due_at": kept.due.isoformat(), "note": kept.reason}
    return {"fired": fired, "due_at": kept.due, "updated_at": now}, moved
