"""Provider delivery reports: move the notification's state, write what
`planning.reports.report` decides (the timeline, and a fallback when undelivered)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import RowMapping, update
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import NotificationKind, NotificationState, Priority
from groundcontrol.planning.callbacks import CallbackRoutes
from groundcontrol.planning.reports import FORWARD, Reported, report
from groundcontrol.planning.status_callbacks import reported
from groundcontrol.store.sql.callback_outbox import tell_changes, tell_entries
from groundcontrol.store.sql.recording import load_customer
from groundcontrol.store.sql.schema import notifications
from groundcontrol.store.sql.timeline import add_timeline


async def apply_provider_status(
    conn: AsyncConnection,
    routes: CallbackRoutes,
    provider_id: str,
    state: NotificationState,
    detail: str,
    now: datetime,
) -> bool:
    allowed_from = FORWARD.get(state)
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
    # Only a fallback needs the customer (its channels and opt-outs as they are now).
    undelivered = state is NotificationState.UNDELIVERED
    customer = await load_customer(conn, row["customer_id"]) if undelivered else None
    outcome = report(_reported(row), customer, state, provider_id, detail, now)
    if outcome.fallback is not None:
        await conn.execute(notifications.insert(), [outcome.fallback])
    await add_timeline(conn, row["case_id"], now, outcome.entries)
    if row["kind"] != NotificationKind.TEST.value:  # a studio test is not the back office's
        await tell_entries(conn, routes, row["case_id"], outcome.entries, now)
        changes = reported(_reported(row), row["attempts"], state, detail, outcome.entries)
        await tell_changes(conn, routes, changes, now)
    return True


def _reported(row: RowMapping) -> Reported:
    return Reported(
        id=row["id"],
        case_id=row["case_id"],
        customer_id=row["customer_id"],
        kind=NotificationKind(row["kind"]),
        template=row["template"],
        status=row["status"],
        channel=row["channel"],
        priority=Priority(row["priority"]),
        tried_channels=tuple(row["tried_channels"]),
    )
