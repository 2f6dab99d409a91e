"""Firing due follow-ups: each becomes a pending notification, then waits `every` again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import NotificationKind, NotificationState, Priority, as_utc
from groundcontrol.planning.plan import PlannedNotification, next_channel
from groundcontrol.store.sql.dialect import Dialect
from groundcontrol.store.sql.recording import insert_notification_rows, notification_row
from groundcontrol.store.sql.rows import to_customer
from groundcontrol.store.sql.schema import customers, follow_ups, notifications
from groundcontrol.store.sql.timeline import add_timeline

_UNSENT = (NotificationState.PENDING.value, NotificationState.SENDING.value)
_CUSTOMER_FACING = (NotificationKind.STATUS.value, NotificationKind.FOLLOW_UP.value)


async def fire_due(conn: AsyncConnection, dialect: Dialect, now: datetime, limit: int) -> int:
    query = dialect.claim_rows(
        select(follow_ups)
        .where(follow_ups.c.state == "pending", follow_ups.c.due_at <= now)
        .order_by(follow_ups.c.due_at)
        .limit(limit)
    )
    due = (await conn.execute(query)).mappings().all()
    for row in due:
        await _fire(conn, dict(row), now)
    return len(due)


async def _fire(conn: AsyncConnection, row: dict[str, Any], now: datetime) -> None:
    fired = row["fired"] + 1
    detail = {"follow_up_id": row["id"], "template": row["template"], "repeat": fired}
    waiting = await _unsent_message(conn, row["case_id"])
    if waiting is None:
        await _notify(conn, row, detail, now)
    else:
        # The customer is about to hear from us anyway (that message was deferred by
        # quiet hours or the cap): a "still working" on top of it would be noise.
        skipped = detail | {"reason": "an earlier message of the case has not gone out yet"}
        await add_timeline(conn, row["case_id"], now, [("follow_up_skipped", waiting, skipped)])
    await _reschedule(conn, row, fired, as_utc(row["due_at"]), now)


async def _unsent_message(conn: AsyncConnection, case_id: str) -> str | None:
    query = (
        select(notifications.c.id)
        .where(
            notifications.c.case_id == case_id,
            notifications.c.state.in_(_UNSENT),
            notifications.c.kind.in_(_CUSTOMER_FACING),
        )
        .limit(1)
    )
    return (await conn.execute(query)).scalar()


async def _notify(
    conn: AsyncConnection, row: dict[str, Any], detail: dict[str, Any], now: datetime
) -> None:
    customer_row = (
        (await conn.execute(select(customers).where(customers.c.id == row["customer_id"])))
        .mappings()
        .one()
    )
    customer = to_customer(customer_row)
    channel = next_channel(customer, tried=())
    if channel is None:
        await add_timeline(
            conn,
            row["case_id"],
            now,
            [("unreachable", None, detail | {"reason": "no usable channel"})],
        )
    else:
        planned = PlannedNotification(
            kind=NotificationKind.FOLLOW_UP,
            template=row["template"],
            status=row["status"],
            channel=channel,
            priority=Priority(row["priority"]),
            due_at=now,
        )
        notification = notification_row(
            case_id=row["case_id"], customer_id=customer.id, planned=planned, now=now
        )
        await add_timeline(
            conn, row["case_id"], now, [("follow_up_fired", notification["id"], detail)]
        )
        await insert_notification_rows(conn, row["case_id"], [notification], ["follow-up"], now)


async def _reschedule(
    conn: AsyncConnection, row: dict[str, Any], fired: int, due_at: datetime, now: datetime
) -> None:
    every = row["every_seconds"]
    if every is None or fired >= row["max_count"]:
        values: dict[str, Any] = {"fired": fired, "state": "done", "updated_at": now}
    else:
        # Keep the cadence; after a long outage, one catch-up rather than a burst.
        next_due = due_at + timedelta(seconds=every)
        if next_due <= now:
            next_due = now + timedelta(seconds=every)
        values = {"fired": fired, "due_at": next_due, "updated_at": now}
    await conn.execute(update(follow_ups).where(follow_ups.c.id == row["id"]).values(**values))
