"""Recording events with a fixed number of statements: read what the batch touches, let
`planning.events` decide every row, write every table once.

Writes are plain INSERTs: if another instance records one of the same event ids or
creates one of the same cases meanwhile, the statement fails and the transaction rolls
back; `SqlStore.record_events` then records the batch again, and this time reads (and
plans against) what the other instance committed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import CaseState, Customer, Event, IngestResult, NotificationState
from groundcontrol.planning.callbacks import CallbackRoutes, CaseRef, unreachable_callbacks
from groundcontrol.planning.events import (
    BatchPlan,
    EventKey,
    SupersedeMark,
    plan_batch,
)
from groundcontrol.planning.plan import Planner
from groundcontrol.planning.rows import CUSTOMER_FACING, Entry, StoredEvent
from groundcontrol.planning.status_callbacks import StateChange, batch_changes, wanted
from groundcontrol.store.sql import callback_outbox
from groundcontrol.store.sql.dialect import Dialect, once_per_dialect
from groundcontrol.store.sql.recording import STORED_EVENT_COLUMNS, stored_event
from groundcontrol.store.sql.rows import customer_values, to_case, to_customer
from groundcontrol.store.sql.schema import (
    cases,
    customers,
    events,
    follow_ups,
    notifications,
    timeline,
)
from groundcontrol.store.sql.thread_rows import thread_values

PENDING = NotificationState.PENDING.value


async def record_batch(
    conn: AsyncConnection,
    dialect: Dialect,
    batch: Sequence[Event],
    planner: Planner,
    now: datetime,
    routes: CallbackRoutes,
) -> list[IngestResult]:
    """Record the batch and the callbacks it calls for, in the caller's transaction."""
    plan = plan_batch(
        batch,
        stored_events=await _stored_events(conn, batch),
        customers=await _customers(conn, {e.customer.id for e in batch}),
        cases=await _cases(conn, dialect, {e.case_id for e in batch}),
        planner=planner,
        now=now,
    )
    stored_changes = await _write(conn, dialect, plan, now)
    await _tell(conn, routes, batch, plan, stored_changes, now)
    return plan.results


async def _tell(
    conn: AsyncConnection,
    routes: CallbackRoutes,
    batch: Sequence[Event],
    plan: BatchPlan,
    stored_changes: dict[str, list[StateChange]],
    now: datetime,
) -> None:
    if wanted(routes):
        refs = {case.id: CaseRef.of(case) for case in _planned_cases(plan)}
        changes = batch_changes(plan, stored_changes)
        await callback_outbox.tell_changes(conn, routes, changes, now, refs)
    await callback_outbox.insert(conn, unreachable_callbacks(routes, batch, plan.results, now))


def _planned_cases(plan: BatchPlan) -> list[CaseState]:
    return [*plan.new_cases.values(), *plan.changed_cases.values()]


async def _stored_events(
    conn: AsyncConnection, batch: Sequence[Event]
) -> dict[EventKey, StoredEvent]:
    by_source = _ids_by_source({(e.source, e.id) for e in batch})
    parameters: dict[str, Any] = {}
    for n, (source, ids) in enumerate(by_source.items()):
        parameters |= {f"source_{n}": source, f"ids_{n}": ids}
    rows = await conn.execute(stored_events_query(len(by_source)), parameters)
    return {(row.source, row.event_id): stored_event(row) for row in rows}


def _ids_by_source(keys: set[EventKey]) -> dict[str, list[str]]:
    by_source: dict[str, list[str]] = {}
    for source, event_id in sorted(keys):
        by_source.setdefault(source, []).append(event_id)
    return by_source


@functools.cache
def stored_events_query(sources: int) -> Select[Any]:
    """The stored events among `:ids_N` of `:source_N`, for N below `sources`: one
    `source = ? AND event_id IN (...)` per source, since SQLite answers a row-value
    `(source, event_id) IN (...)` by scanning the whole unique index (so each batch's
    read grew with every event ever stored). Built once per number of sources (a batch
    mostly has one): building it cost more than running it for a small batch."""
    return select(events.c.source, events.c.event_id, *STORED_EVENT_COLUMNS).where(
        or_(
            *(
                and_(
                    events.c.source == bindparam(f"source_{n}"),
                    events.c.event_id.in_(bindparam(f"ids_{n}", expanding=True)),
                )
                for n in range(sources)
            )
        )
    )


async def _customers(conn: AsyncConnection, ids: set[str]) -> dict[str, Customer]:
    rows = (await conn.execute(_customers_query(), {"ids": sorted(ids)})).mappings()
    return {row["id"]: to_customer(row) for row in rows}


@functools.cache
def _customers_query() -> Select[Any]:
    return select(customers).where(customers.c.id.in_(bindparam("ids", expanding=True)))


async def _cases(conn: AsyncConnection, dialect: Dialect, ids: set[str]) -> dict[str, CaseState]:
    rows = (await conn.execute(_cases_query(dialect), {"ids": sorted(ids)})).mappings()
    return {row["id"]: to_case(row) for row in rows}


@once_per_dialect
def _cases_query(dialect: Dialect) -> Select[Any]:
    # Locked in id order (PostgreSQL), so two instances' batches cannot deadlock.
    query = select(cases).where(cases.c.id.in_(bindparam("ids", expanding=True)))
    return dialect.lock_row(query.order_by(cases.c.id))


async def _write(
    conn: AsyncConnection, dialect: Dialect, plan: BatchPlan, now: datetime
) -> dict[str, list[StateChange]]:
    """Write the plan; returns the stored rows it superseded, by case (for callbacks)."""
    await _upsert_customers(conn, dialect, plan.customers.values(), now)
    event_pks = await _insert_events(conn, plan.events)
    await _write_cases(conn, plan, event_pks, now)
    await _raise_priorities(conn, plan, now)
    superseded, changes = await _supersede_stored(conn, plan.supersede, now)
    if plan.notifications:
        await conn.execute(notifications.insert(), plan.notifications)
    await _insert_follow_ups(conn, plan.follow_ups)
    await _insert_timeline(conn, plan, superseded, now)
    return changes


async def _upsert_customers(
    conn: AsyncConnection, dialect: Dialect, changed: Iterable[Customer], now: datetime
) -> None:
    rows = [customer_values(c) | {"created_at": now, "updated_at": now} for c in changed]
    if not rows:
        return
    await conn.execute(_customer_upsert(dialect), rows)


@once_per_dialect
def _customer_upsert(dialect: Dialect) -> Any:
    statement = dialect.insert(customers)
    kept = {"id", "created_at"}
    columns = {c.name: statement.excluded[c.name] for c in customers.c if c.name not in kept}
    return statement.on_conflict_do_update(index_elements=["id"], set_=columns)


async def _insert_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> dict[EventKey, int]:
    if not rows:
        return {}
    # Keyed by (source, event_id), so the rows may come back in any order; asking for
    # parameter order makes SQLAlchemy insert one row per statement on SQLite.
    statement = events.insert().returning(events.c.pk, events.c.source, events.c.event_id)
    return {(r.source, r.event_id): r.pk for r in await conn.execute(statement, rows)}


async def _write_cases(
    conn: AsyncConnection, plan: BatchPlan, event_pks: dict[EventKey, int], now: datetime
) -> None:
    def values(case: CaseState) -> dict[str, Any]:
        return {
            "id": case.id,
            "customer_id": case.customer_id,
            "status": case.status,
            "previous_status": case.previous_status,
            "status_at": case.status_at,
            "sequence": case.sequence,
            "priority": int(case.priority),
            "data": dict(case.data),
            "last_event_pk": event_pks[plan.last_event[case.id]],
            "updated_at": now,
            "source": case.source,
        } | (thread_values(case.thread) if case.thread is not None else {})

    if plan.new_cases:
        rows = [
            values(c) | {"created_at": now, "last_message_at": None}
            for c in plan.new_cases.values()
        ]
        await conn.execute(cases.insert(), rows)
    if plan.changed_cases:
        names = [name for name in values(next(iter(plan.changed_cases.values()))) if name != "id"]
        rows = [{f"v_{k}": v for k, v in values(c).items()} for c in plan.changed_cases.values()]
        await conn.execute(_case_update(tuple(names)), rows)


@functools.cache
def _case_update(names: tuple[str, ...]) -> Any:
    """The UPDATE of these columns by case id; built once per set of columns (with or
    without the thread's): building it cost more than running it for a small batch."""
    changes: dict[str, Any] = {name: bindparam(f"v_{name}") for name in names}
    return update(cases).where(cases.c.id == bindparam("v_id")).values(**changes)


async def _raise_priorities(conn: AsyncConnection, plan: BatchPlan, now: datetime) -> None:
    if not plan.raised:
        return
    rows = [{"v_case": case, "v_priority": int(p), "v_now": now} for case, p in plan.raised.items()]
    for table in (notifications, follow_ups):
        statement = (
            update(table)
            .where(
                table.c.case_id == bindparam("v_case"),
                table.c.state == PENDING,
                table.c.priority > bindparam("v_priority"),
            )
            .values(priority=bindparam("v_priority"), updated_at=bindparam("v_now"))
        )
        await conn.execute(statement, rows)


Superseded = dict[str, list[Entry]]  # case id -> its stored rows' timeline entries


async def _supersede_stored(
    conn: AsyncConnection, case_ids: set[str], now: datetime
) -> tuple[Superseded, dict[str, list[StateChange]]]:
    if not case_ids:
        return {}, {}
    parameters = {"cases": sorted(case_ids), "now": now}
    dropped = await conn.execute(_drop_unsent(), parameters)
    cancelled = await conn.execute(_cancel_follow_ups(), parameters)
    found: Superseded = {}
    changes: dict[str, list[StateChange]] = {}
    superseded = NotificationState.SUPERSEDED.value
    for row in dropped:
        found.setdefault(row.case_id, []).append(("superseded", row.id, {}))
        change = StateChange(row.id, row.case_id, row.channel, superseded, PENDING, row.attempts)
        changes.setdefault(row.case_id, []).append(change)
    for row in cancelled:
        detail = {"follow_up_id": row.id, "template": row.template}
        found.setdefault(row.case_id, []).append(("follow_up_cancelled", None, detail))
    return found, changes


@functools.cache
def _drop_unsent() -> Any:
    """Built once, like the cancel below: a status change of one case runs both."""
    return (
        update(notifications)
        .where(
            notifications.c.case_id.in_(bindparam("cases", expanding=True)),
            notifications.c.state == PENDING,
            notifications.c.kind.in_(CUSTOMER_FACING),
        )
        .values(state=NotificationState.SUPERSEDED.value, updated_at=bindparam("now"))
        .returning(
            notifications.c.id,
            notifications.c.case_id,
            notifications.c.channel,
            notifications.c.attempts,
        )
    )


@functools.cache
def _cancel_follow_ups() -> Any:
    return (
        update(follow_ups)
        .where(
            follow_ups.c.case_id.in_(bindparam("cases", expanding=True)),
            follow_ups.c.state == "pending",
        )
        .values(state="cancelled", updated_at=bindparam("now"))
        .returning(follow_ups.c.id, follow_ups.c.case_id, follow_ups.c.template)
    )


async def _insert_follow_ups(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = follow_ups.insert().returning(follow_ups.c.id, sort_by_parameter_order=True)
    clean = [{k: v for k, v in row.items() if k != "_details"} for row in rows]
    for row, inserted in zip(rows, await conn.execute(statement, clean), strict=True):
        for detail in row["_details"]:
            detail["follow_up_id"] = inserted.id


async def _insert_timeline(
    conn: AsyncConnection, plan: BatchPlan, superseded: Superseded, now: datetime
) -> None:
    rows: list[dict[str, Any]] = []

    def add(case_id: str, entry: Entry) -> None:
        kind, nid, detail = entry
        rows.append(
            {"case_id": case_id, "at": now, "kind": kind, "notification_id": nid, "detail": detail}
        )

    for item in plan.timeline:
        if isinstance(item, SupersedeMark):
            for kind, nid, detail in superseded.get(item.case_id, []):
                add(item.case_id, (kind, nid, detail | {"reason": item.reason}))
        else:
            add(*item)
    if rows:
        await conn.execute(timeline.insert(), rows)
