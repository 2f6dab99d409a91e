"""Retention: delete finished history older than a horizon, a small batch per transaction.

What goes: notifications in a state nothing changes any more (sent counts, since no
provider reports on a message that old) with their attempts, follow-ups that are done or
cancelled, timeline entries, events, callbacks to the back office that were delivered
(sent) or are dead, and breaches whose promise broke before the horizon (their
`promise_breached` timeline entries go by the same rule, and `breaches_in_window` then
counts breaches within the retention window only). What stays: anything still due or in
flight (a pending or leased callback too), and each case's latest event, which its next
message renders from. Forgetting an old event also forgets its id, so a source
re-posting the same id after the horizon is accepted again rather than answered as a
duplicate.

Batches keep each transaction short: on SQLite the sweep shares the single writer with
ingest, on PostgreSQL it holds row locks only briefly.

Timeline entries and events have no index on their time: they are appended with the
writer's clock, so their keys grow with their times, and the sweep walks them by key
from the oldest instead (appended_sweep.py), a batch of keys per transaction, and
stops past the horizon. Every other table is swept by an index on its time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import FINAL_STATES, NotificationState
from groundcontrol.store.callback_views import FINISHED as FINISHED_CALLBACKS
from groundcontrol.store.contract import RetentionReport
from groundcontrol.store.sql.appended_sweep import Appended, SqlTables, sweep_appended
from groundcontrol.store.sql.schema import (
    attempts,
    breaches,
    callbacks,
    cases,
    events,
    follow_ups,
    notifications,
    timeline,
)

BATCH = 1000
FINISHED_NOTIFICATIONS = tuple(sorted(s.value for s in FINAL_STATES | {NotificationState.SENT}))
FINISHED_FOLLOW_UPS = ("done", "cancelled")


async def purge(store: SqlTables, horizon: datetime, *, batch: int = BATCH) -> RetentionReport:
    """Delete everything finished before `horizon`; see the module docstring for what."""
    gone_notifications, gone_attempts = await _purge_notifications(store, horizon, batch)
    return RetentionReport(
        notifications=gone_notifications,
        attempts=gone_attempts,
        follow_ups=await _purge(store, batch, _old_follow_ups(horizon)),
        timeline=await sweep_appended(store, batch, _old_timeline(horizon)),
        events=await sweep_appended(store, batch, _old_events(horizon)),
        callbacks=await _purge(store, batch, _old_callbacks(horizon)),
        breaches=await _purge(store, batch, _old_breaches(horizon)),
    )


# A target is a table, its key column, and the condition a row must meet to go.
Target = tuple[Table, Any, ColumnElement[bool]]


def _old_follow_ups(horizon: datetime) -> Target:
    finished = follow_ups.c.state.in_(FINISHED_FOLLOW_UPS) & (follow_ups.c.updated_at < horizon)
    return follow_ups, follow_ups.c.id, finished


def _old_timeline(horizon: datetime) -> Appended:
    return Appended(timeline, timeline.c.id, timeline.c.at, horizon)


def _old_events(horizon: datetime) -> Appended:
    # A case's latest event points back at its case (it was recorded for it), so one
    # lookup by the case's key finds it: no list of every case's latest event per batch.
    latest = (
        select(cases.c.id)
        .where(cases.c.id == events.c.case_id, cases.c.last_event_pk == events.c.pk)
        .exists()
    )
    return Appended(events, events.c.pk, events.c.received_at, horizon, ~latest)


def _old_callbacks(horizon: datetime) -> Target:
    # Re-checked in the DELETE: a dead callback re-driven meanwhile is pending, and stays.
    finished = callbacks.c.state.in_(FINISHED_CALLBACKS) & (callbacks.c.updated_at < horizon)
    return callbacks, callbacks.c.id, finished


def _old_breaches(horizon: datetime) -> Target:
    # By the promise's deadline, as `breaches_in_window` counts them.
    return breaches, breaches.c.id, breaches.c.deadline < horizon


def _old_notifications(horizon: datetime) -> ColumnElement[bool]:
    return notifications.c.state.in_(FINISHED_NOTIFICATIONS) & (
        notifications.c.updated_at < horizon
    )


async def _purge(store: SqlTables, batch: int, target: Target) -> int:
    table, key, condition = target
    return await _in_batches(
        store, batch, lambda conn: _delete_batch(conn, table, key, condition, batch)
    )


async def _delete_batch(
    conn: AsyncConnection, table: Table, key: Any, condition: ColumnElement[bool], batch: int
) -> int:
    picked = select(key).where(condition).limit(batch).scalar_subquery()
    result = await conn.execute(delete(table).where(key.in_(picked), condition))
    return int(result.rowcount)


async def _purge_notifications(store: SqlTables, horizon: datetime, batch: int) -> tuple[int, int]:
    gone_attempts = 0

    async def one_batch(conn: AsyncConnection) -> int:
        nonlocal gone_attempts
        condition = _old_notifications(horizon)
        picked = select(notifications.c.id).where(condition).limit(batch).scalar_subquery()
        # Re-checking the condition in the DELETE skips a row redriven meanwhile.
        statement = delete(notifications).where(notifications.c.id.in_(picked), condition)
        ids = list((await conn.execute(statement.returning(notifications.c.id))).scalars())
        if ids:
            result = await conn.execute(delete(attempts).where(attempts.c.notification_id.in_(ids)))
            gone_attempts += int(result.rowcount)
        return len(ids)

    return await _in_batches(store, batch, one_batch), gone_attempts


async def _in_batches(
    store: SqlTables, batch: int, one_batch: Callable[[AsyncConnection], Any]
) -> int:
    total = 0
    while True:
        async with store.write() as conn:
            deleted: int = await one_batch(conn)
        total += deleted
        if deleted < batch:
            return total
