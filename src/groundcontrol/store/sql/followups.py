"""Firing due follow-ups: read what `planning.followups.fire` needs, write what it decides."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import NotificationState, Priority, as_utc
from groundcontrol.planning.callbacks import CallbackRoutes
from groundcontrol.planning.followups import DueFollowUp, fire
from groundcontrol.planning.golden_thread import Thread
from groundcontrol.planning.promises import QuietWindow
from groundcontrol.planning.rows import CUSTOMER_FACING
from groundcontrol.planning.status_callbacks import created_in
from groundcontrol.store.sql.callback_outbox import tell_changes, tell_entries
from groundcontrol.store.sql.dialect import Dialect, once_per_dialect
from groundcontrol.store.sql.recording import load_customer
from groundcontrol.store.sql.schema import cases, follow_ups, notifications
from groundcontrol.store.sql.thread_rows import to_thread
from groundcontrol.store.sql.timeline import add_timeline

_UNSENT = (NotificationState.PENDING.value, NotificationState.SENDING.value)


async def fire_due(
    conn: AsyncConnection,
    dialect: Dialect,
    routes: CallbackRoutes,
    now: datetime,
    limit: int,
    quiet: QuietWindow | None = None,
) -> int:
    parameters = {"now": now, "limit": limit}
    due = (await conn.execute(_due_query(dialect), parameters)).mappings().all()
    for row in due:
        await _fire(conn, routes, _due(row), now, quiet)
    return len(due)


@once_per_dialect
def _due_query(dialect: Dialect) -> Select[Any]:
    """The dispatcher runs it on every tick, mostly to find nothing."""
    return dialect.claim_rows(
        select(follow_ups)
        .where(follow_ups.c.state == "pending", follow_ups.c.due_at <= bindparam("now"))
        .order_by(follow_ups.c.due_at)
        .limit(bindparam("limit", type_=Integer))
    )


async def _fire(
    conn: AsyncConnection,
    routes: CallbackRoutes,
    follow_up: DueFollowUp,
    now: datetime,
    quiet: QuietWindow | None,
) -> None:
    customer = await load_customer(conn, follow_up.customer_id)
    assert customer is not None  # a follow-up is only ever planned for a stored customer
    unsent = await _unsent_message(conn, follow_up.case_id)
    thread = await _case_thread(conn, follow_up.case_id)
    firing = fire(follow_up, customer, unsent, now, thread, quiet)
    if firing.notification is not None:
        await conn.execute(notifications.insert(), [firing.notification])
    await add_timeline(conn, follow_up.case_id, now, firing.entries)
    await tell_entries(conn, routes, follow_up.case_id, firing.entries, now)
    await tell_changes(conn, routes, created_in(follow_up.case_id, firing.entries), now)
    await conn.execute(
        update(follow_ups).where(follow_ups.c.id == follow_up.id).values(**firing.changes)
    )


def _due(row: Mapping[str, Any]) -> DueFollowUp:
    every = row["every_seconds"]
    return DueFollowUp(
        id=row["id"],
        case_id=row["case_id"],
        customer_id=row["customer_id"],
        status=row["status"],
        template=row["template"],
        priority=Priority(row["priority"]),
        due_at=as_utc(row["due_at"]),
        every=timedelta(seconds=every) if every is not None else None,
        max_count=row["max_count"],
        fired=row["fired"],
    )


async def _unsent_message(conn: AsyncConnection, case_id: str) -> str | None:
    query = (
        select(notifications.c.id)
        .where(
            notifications.c.case_id == case_id,
            notifications.c.state.in_(_UNSENT),
            notifications.c.kind.in_(CUSTOMER_FACING),
        )
        .limit(1)
    )
    return (await conn.execute(query)).scalar()


async def _case_thread(conn: AsyncConnection, case_id: str) -> Thread | None:
    row = (await conn.execute(select(cases).where(cases.c.id == case_id))).mappings().first()
    return to_thread(row) if row is not None else None
