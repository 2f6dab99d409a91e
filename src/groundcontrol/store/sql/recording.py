"""Recording one event: idempotency, customer upsert, case update and the plan's rows.

Runs inside the batch transaction of `SqlStore.record_events`; every function takes
the open connection and the engine's `Dialect` hooks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import CaseState, Customer, Event, NotificationState
from groundcontrol.planning.plan import Plan, PlannedFollowUp, PlannedNotification
from groundcontrol.store.contract import IngestResult, IngestStatus, Planner
from groundcontrol.store.sql.dialect import Dialect
from groundcontrol.store.sql.rows import customer_values, to_case, to_customer
from groundcontrol.store.sql.schema import cases, customers, events, follow_ups, notifications
from groundcontrol.store.sql.timeline import add_timeline
from groundcontrol.store.transitions import Entry, event_entries

SUPERSEDABLE = ("status", "follow_up")  # kinds a newer status makes stale


def new_notification_id() -> tuple[str, str]:
    """A notification id and its message key (webhook-id / Message-ID local part)."""
    token = uuid.uuid4().hex
    return f"n_{token}", f"msg_{token}"


async def record_event(
    conn: AsyncConnection, dialect: Dialect, event: Event, planner: Planner, now: datetime
) -> IngestResult:
    existing = await _find_event(conn, event)
    if existing is not None:
        return repeat_result(existing, event)
    customer = await _resolve_customer(conn, dialect, event, now)
    if customer is None:
        return IngestResult(IngestStatus.UNKNOWN_CUSTOMER, event.id)
    event_pk = await _insert_event(conn, dialect, event, now)
    if event_pk is None:  # another instance recorded the same id a moment ago
        raced = await _find_event(conn, event)
        assert raced is not None
        return repeat_result(raced, event)
    before = await _lock_case(conn, dialect, event, customer, now)
    plan = planner(event, before, customer)
    ids = await _apply(conn, event, event_pk, before, customer, plan, now)
    await conn.execute(
        update(events)
        .where(events.c.pk == event_pk)
        .values(outcome=plan.outcome.value, notification_ids=list(ids))
    )
    return IngestResult(IngestStatus.ACCEPTED, event.id, plan.outcome.value, ids)


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


STORED_EVENT_COLUMNS = (events.c.body_hash, events.c.outcome, events.c.notification_ids)


def stored_event(row: Row[*tuple[Any, ...]]) -> StoredEvent:
    """A row selected with STORED_EVENT_COLUMNS."""
    return StoredEvent(row.body_hash, row.outcome, tuple(row.notification_ids or ()))


async def _find_event(conn: AsyncConnection, event: Event) -> StoredEvent | None:
    query = select(*STORED_EVENT_COLUMNS).where(
        events.c.source == event.source, events.c.event_id == event.id
    )
    row = (await conn.execute(query)).first()
    return stored_event(row) if row is not None else None


async def load_customer(conn: AsyncConnection, customer_id: str) -> Customer | None:
    row = (
        (await conn.execute(select(customers).where(customers.c.id == customer_id)))
        .mappings()
        .first()
    )
    return to_customer(row) if row else None


async def upsert_customer(
    conn: AsyncConnection, dialect: Dialect, customer: Customer, now: datetime
) -> None:
    values = customer_values(customer)
    statement = dialect.insert(customers).values(**values, created_at=now, updated_at=now)
    changes = {k: v for k, v in values.items() if k != "id"} | {"updated_at": now}
    await conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=changes))


async def _resolve_customer(
    conn: AsyncConnection, dialect: Dialect, event: Event, now: datetime
) -> Customer | None:
    current = await load_customer(conn, event.customer.id)
    if not event.customer.fields:
        return current
    customer = event.customer.apply(current)
    if customer != current:
        await upsert_customer(conn, dialect, customer, now)
    return customer


async def _insert_event(
    conn: AsyncConnection, dialect: Dialect, event: Event, now: datetime
) -> int | None:
    statement = (
        dialect.insert(events)
        .values(**event_row(event, now))
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(events.c.pk)
    )
    return (await conn.execute(statement)).scalar()


def event_row(
    event: Event, now: datetime, outcome: str = "recording", ids: Sequence[str] = ()
) -> dict[str, Any]:
    """The events table row; row by row, the outcome is filled in after planning."""
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


async def _lock_case(
    conn: AsyncConnection, dialect: Dialect, event: Event, customer: Customer, now: datetime
) -> CaseState | None:
    """The case as it was before this event, locked for the rest of the transaction.
    A new case is inserted here (from this event), so two instances cannot both
    believe they created it."""
    created = await conn.execute(
        dialect.insert(cases)
        .values(
            id=event.case_id,
            customer_id=customer.id,
            status=event.status,
            previous_status=None,
            status_at=event.occurred_at,
            sequence=event.sequence,
            priority=int(event.priority if event.priority is not None else 2),
            data=dict(event.data),
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(cases.c.id)
    )
    if created.scalar() is not None:
        return None
    query = dialect.lock_row(select(cases).where(cases.c.id == event.case_id))
    row = (await conn.execute(query)).mappings().one()
    return to_case(row)


async def _apply(
    conn: AsyncConnection,
    event: Event,
    event_pk: int,
    before: CaseState | None,
    customer: Customer,
    plan: Plan,
    now: datetime,
) -> tuple[str, ...]:
    await _timeline_event(conn, event, plan, now)
    if not plan.advances_case:
        return ()
    await _update_case(conn, event, event_pk, before, customer, plan, now)
    # A case this event created has no earlier messages to drop or reprioritise.
    if before is not None and plan.supersede_pending:
        await supersede_pending(conn, event.case_id, f"newer status {event.status!r}", now)
    elif before is not None:
        await _raise_priority(conn, event.case_id, plan, now)
    ids = await _insert_notifications(conn, event, customer, plan.notifications, now)
    if plan.follow_up is not None:
        await _insert_follow_up(conn, event, customer, plan, plan.follow_up, now)
    return ids


async def _timeline_event(conn: AsyncConnection, event: Event, plan: Plan, now: datetime) -> None:
    await add_timeline(conn, event.case_id, now, event_entries(event, plan))


async def _update_case(
    conn: AsyncConnection,
    event: Event,
    event_pk: int,
    before: CaseState | None,
    customer: Customer,
    plan: Plan,
    now: datetime,
) -> None:
    values: dict[str, Any] = {
        "customer_id": customer.id,
        "status_at": event.occurred_at,
        "priority": int(plan.priority),
        "data": {**(before.data if before else {}), **event.data},
        "last_event_pk": event_pk,
        "updated_at": now,
    }
    if event.sequence is not None:
        values["sequence"] = event.sequence
    if before is not None and before.status != event.status:
        values |= {"status": event.status, "previous_status": before.status}
    await conn.execute(update(cases).where(cases.c.id == event.case_id).values(**values))


async def supersede_pending(conn: AsyncConnection, case_id: str, why: str, now: datetime) -> None:
    """Newest state wins: drop the case's unsent messages and pending follow-ups."""
    dropped = await conn.execute(
        update(notifications)
        .where(
            notifications.c.case_id == case_id,
            notifications.c.state == NotificationState.PENDING.value,
            notifications.c.kind.in_(SUPERSEDABLE),
        )
        .values(state=NotificationState.SUPERSEDED.value, updated_at=now)
        .returning(notifications.c.id)
    )
    cancelled = await conn.execute(
        update(follow_ups)
        .where(follow_ups.c.case_id == case_id, follow_ups.c.state == "pending")
        .values(state="cancelled", updated_at=now)
        .returning(follow_ups.c.id, follow_ups.c.template)
    )
    entries: list[tuple[str, str | None, dict[str, Any]]] = [
        ("superseded", nid, {"reason": why}) for nid in dropped.scalars()
    ]
    entries += [
        (
            "follow_up_cancelled",
            None,
            {"follow_up_id": row.id, "template": row.template, "reason": why},
        )
        for row in cancelled
    ]
    await add_timeline(conn, case_id, now, entries)


async def _raise_priority(conn: AsyncConnection, case_id: str, plan: Plan, now: datetime) -> None:
    await conn.execute(
        update(notifications)
        .where(
            notifications.c.case_id == case_id,
            notifications.c.state == NotificationState.PENDING.value,
            notifications.c.priority > int(plan.priority),
        )
        .values(priority=int(plan.priority), updated_at=now)
    )
    await conn.execute(
        update(follow_ups)
        .where(
            follow_ups.c.case_id == case_id,
            follow_ups.c.state == "pending",
            follow_ups.c.priority > int(plan.priority),
        )
        .values(priority=int(plan.priority), updated_at=now)
    )


def notification_row(
    *,
    case_id: str,
    customer_id: str,
    planned: PlannedNotification,
    now: datetime,
    previous_id: str | None = None,
    tried: Sequence[str] = (),
) -> dict[str, Any]:
    notification_id, message_key = new_notification_id()
    return {
        "id": notification_id,
        "case_id": case_id,
        "customer_id": customer_id,
        "kind": planned.kind.value,
        "template": planned.template,
        "status": planned.status,
        "channel": planned.channel,
        "state": NotificationState.PENDING.value,
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


async def insert_notification_rows(
    conn: AsyncConnection,
    case_id: str,
    rows: list[dict[str, Any]],
    notes: Sequence[str],
    now: datetime,
) -> None:
    if not rows:
        return
    await conn.execute(notifications.insert(), rows)
    await add_timeline(conn, case_id, now, planned_entries(rows, notes))


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


async def _insert_notifications(
    conn: AsyncConnection,
    event: Event,
    customer: Customer,
    planned: Sequence[PlannedNotification],
    now: datetime,
) -> tuple[str, ...]:
    rows = [
        notification_row(case_id=event.case_id, customer_id=customer.id, planned=p, now=now)
        for p in planned
    ]
    await insert_notification_rows(conn, event.case_id, rows, [p.note for p in planned], now)
    return tuple(row["id"] for row in rows)


async def _insert_follow_up(
    conn: AsyncConnection,
    event: Event,
    customer: Customer,
    plan: Plan,
    follow_up: PlannedFollowUp,
    now: datetime,
) -> None:
    row = follow_up_row(event, customer, plan, follow_up, now)
    inserted = await conn.execute(follow_ups.insert().values(**row).returning(follow_ups.c.id))
    detail = follow_up_detail(follow_up, inserted.scalar_one())
    await add_timeline(conn, event.case_id, now, [("follow_up_scheduled", None, detail)])


def follow_up_row(
    event: Event, customer: Customer, plan: Plan, follow_up: PlannedFollowUp, now: datetime
) -> dict[str, Any]:
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
    }
