"""Provider delivery reports: states only move forward, undelivered falls back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import NotificationKind, NotificationState, Priority
from groundcontrol.planning.plan import PlannedNotification, next_channel
from groundcontrol.store.sql.recording import (
    insert_notification_rows,
    load_customer,
    notification_row,
)
from groundcontrol.store.sql.schema import notifications
from groundcontrol.store.sql.timeline import add_timeline

# Which states a report may move a notification from; anything else is late or repeated.
_FORWARD = {
    NotificationState.DELIVERED: (NotificationState.SENT.value,),
    NotificationState.UNDELIVERED: (NotificationState.SENT.value,),
}


async def apply_provider_status(
    conn: AsyncConnection, provider_id: str, state: NotificationState, detail: str, now: datetime
) -> bool:
    allowed_from = _FORWARD.get(state)
    if not allowed_from:
        return False  # "sent" and friends: we knew that when the provider accepted it
    moved = await conn.execute(
        update(notifications)
        .where(notifications.c.provider_id == provider_id, notifications.c.state.in_(allowed_from))
        .values(state=state.value, updated_at=now, last_error=detail or None)
        .returning(*notifications.c)
    )
    row = moved.mappings().first()
    if row is None:
        return False
    entry = {"channel": row["channel"], "provider_id": provider_id, "detail": detail}
    await add_timeline(conn, row["case_id"], now, [(state.value, row["id"], entry)])
    if state is NotificationState.UNDELIVERED:
        await _fall_back(conn, dict(row), now)
    return True


async def _fall_back(conn: AsyncConnection, row: dict[str, Any], now: datetime) -> None:
    customer = await load_customer(conn, row["customer_id"])
    tried = [*row["tried_channels"], row["channel"]]
    channel = next_channel(customer, tried) if customer else None
    if channel is None:
        reason = {"reason": "undelivered and no other channel left"}
        await add_timeline(conn, row["case_id"], now, [("unreachable", row["id"], reason)])
        return
    planned = PlannedNotification(
        kind=NotificationKind(row["kind"]),
        template=row["template"],
        status=row["status"],
        channel=channel,
        priority=Priority(row["priority"]),
        due_at=now,
    )
    fallback = notification_row(
        case_id=row["case_id"],
        customer_id=row["customer_id"],
        planned=planned,
        now=now,
        previous_id=row["id"],
        tried=tried,
    )
    hand_over = {"from": row["channel"], "to": channel, "next": fallback["id"]}
    await add_timeline(conn, row["case_id"], now, [("fallback", row["id"], hand_over)])
    await insert_notification_rows(conn, row["case_id"], [fallback], ["fallback: undelivered"], now)
