"""The rows the planners decide, in the store's column names.

Planners return these plain dicts (and timeline entries); every engine, the in-memory
one included, only writes them. Nothing here reads or writes a store.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from groundcontrol.domain import (
    Customer,
    Event,
    IngestResult,
    IngestStatus,
    NotificationKind,
    NotificationState,
)
from groundcontrol.planning.plan import Plan, PlannedFollowUp, PlannedNotification

Entry = tuple[str, str | None, dict[str, Any]]  # timeline: kind, notification id, detail

# The customer-facing kinds: a newer status supersedes them while pending, and while
# one is unsent a follow-up is skipped (the customer is about to hear from us anyway).
CUSTOMER_FACING = (NotificationKind.STATUS.value, NotificationKind.FOLLOW_UP.value)
PENDING = NotificationState.PENDING.value


def new_notification_id() -> tuple[str, str]:
    """A notification id and its message key (webhook-id / Message-ID local part)."""
    token = uuid.uuid4().hex
    return f"n_{token}", f"msg_{token}"


@dataclass(frozen=True)
class StoredEvent:
    """What an already recorded event answers when its id comes again."""

    body_hash: str
    outcome: str
    notification_ids: tuple[str, ...]


def repeat_result(stored: StoredEvent, event: Event) -> IngestResult:
    """The same id again: the first result, or a conflict when the body differs."""
    if stored.body_hash != event.body_hash:
        return IngestResult(IngestStatus.CONFLICT, event.id)
    return IngestResult(IngestStatus.DUPLICATE, event.id, stored.outcome, stored.notification_ids)


def event_row(event: Event, now: datetime, outcome: str, ids: Sequence[str]) -> dict[str, Any]:
    """The events table row."""
    return {
        "source": event.source,
        "event_id": event.id,
        "case_id": event.case_id,
        "status": event.status,
        "occurred_at": event.occurred_at,
        "received_at": now,
        "body_hash": event.body_hash,
        "payload": public_event(event),
        "outcome": outcome,
        "notification_ids": list(ids),
    }


def public_event(event: Event) -> dict[str, Any]:
    """The event as templates and the timeline see it."""
    return {
        "id": event.id,
        "source": event.source,
        "case_id": event.case_id,
        "status": event.status,
        "occurred_at": event.occurred_at.isoformat(),
        "priority": event.priority.label if event.priority is not None else None,
        "sequence": event.sequence,
        "data": dict(event.data),
    }


def notification_row(
    *,
    case_id: str,
    customer_id: str,
    planned: PlannedNotification,
    now: datetime,
    previous_id: str | None = None,
    tried: Sequence[str] = (),
) -> dict[str, Any]:
    """A new pending notification."""
    notification_id, message_key = new_notification_id()
    return {
        "id": notification_id,
        "case_id": case_id,
        "customer_id": customer_id,
        "kind": planned.kind.value,
        "template": planned.template,
        "status": planned.status,
        "channel": planned.channel,
        "state": PENDING,
        "priority": int(planned.priority),
        "due_at": planned.due_at,
        "attempts": 0,
        "lease_version": 0,
        "message_key": message_key,
        "previous_id": previous_id,
        "tried_channels": list(tried),
        "created_at": now,
        "updated_at": now,
    }


def planned_entries(rows: Sequence[Mapping[str, Any]], notes: Sequence[str]) -> list[Entry]:
    """The "planned" timeline entry of each new notification row."""
    return [
        (
            "planned",
            row["id"],
            {
                "kind": row["kind"],
                "channel": row["channel"],
                "template": row["template"],
                "due_at": row["due_at"].isoformat(),
                "note": note,
            },
        )
        for row, note in zip(rows, notes, strict=True)
    ]


def follow_up_row(
    event: Event, customer: Customer, plan: Plan, follow_up: PlannedFollowUp, now: datetime
) -> dict[str, Any]:
    """A new pending follow-up (its id is the engine's, once inserted)."""
    return {
        "case_id": event.case_id,
        "customer_id": customer.id,
        "status": event.status,
        "template": follow_up.template,
        "priority": int(plan.priority),
        "due_at": follow_up.due_at,
        "every_seconds": follow_up.every.total_seconds() if follow_up.every else None,
        "max_count": follow_up.max,
        "fired": 0,
        "state": "pending",
        "created_at": now,
        "updated_at": now,
    }


def follow_up_detail(follow_up: PlannedFollowUp, follow_up_id: int | None) -> dict[str, Any]:
    """The "follow_up_scheduled" entry's detail (the id is None until the row exists)."""
    return {
        "follow_up_id": follow_up_id,
        "template": follow_up.template,
        "due_at": follow_up.due_at.isoformat(),
        "every_seconds": follow_up.every.total_seconds() if follow_up.every else None,
        "max": follow_up.max,
    } | ({"note": follow_up.note} if follow_up.note else {})
