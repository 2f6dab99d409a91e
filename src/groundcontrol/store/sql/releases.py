"""Letting held messages go early: on an operator's word (send-now), or at start when
quiet hours were switched off while messages waited for them to end."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import NotificationState, Priority
from groundcontrol.planning.transitions import QUIET_HOURS_DETAIL
from groundcontrol.store.sql.schema import attempts, notifications
from groundcontrol.store.sql.timeline import add_timeline

PENDING = NotificationState.PENDING.value


async def send_now(conn: AsyncConnection, notification_id: str, now: datetime) -> bool:
    """A pending notification becomes due now and urgent: urgent bypasses quiet hours and
    the frequency cap (it still counts toward the cap). False when it is not pending."""
    row = (
        await conn.execute(
            update(notifications)
            .where(notifications.c.id == notification_id, notifications.c.state == PENDING)
            .values(due_at=now, priority=Priority.URGENT.value, updated_at=now)
            .returning(notifications.c.case_id)
        )
    ).first()
    if row is None:
        return False
    detail: dict[str, Any] = {"reason": "send-now by an operator"}
    await add_timeline(conn, row.case_id, now, [("released", notification_id, detail)])
    return True


async def release_quiet_deferrals(
    conn: AsyncConnection, now: datetime, customer_id: str | None = None
) -> int:
    """Pending notifications whose due time quiet hours pushed become due now (only
    `customer_id`'s when given: they turned quiet hours off on the case page).

    The claim that deferred a notification is its newest (same lease version), and its
    attempt row says why: so a later retry or cap deferral is never mistaken for one."""
    whose = [] if customer_id is None else [notifications.c.customer_id == customer_id]
    held = (
        await conn.execute(
            select(notifications.c.id, notifications.c.case_id)
            .join(
                attempts,
                and_(
                    attempts.c.notification_id == notifications.c.id,
                    attempts.c.lease_version == notifications.c.lease_version,
                ),
            )
            .where(
                notifications.c.state == PENDING,
                notifications.c.due_at > now,
                attempts.c.outcome == "deferred",
                attempts.c.detail == QUIET_HOURS_DETAIL,
                *whose,
            )
            .order_by(notifications.c.id)
        )
    ).all()
    detail: dict[str, Any] = {"reason": "quiet hours are off"}
    for nid, case_id in held:
        await conn.execute(
            update(notifications)
            .where(notifications.c.id == nid, notifications.c.state == PENDING)
            .values(due_at=now, updated_at=now)
        )
        await add_timeline(conn, case_id, now, [("released", nid, detail)])
    return len(held)
