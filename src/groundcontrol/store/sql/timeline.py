"""Appending to a case's timeline: every transition writes here in its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.planning.rows import Entry
from groundcontrol.store.sql.schema import timeline

__all__ = ["Entry", "add_timeline"]


async def add_timeline(
    conn: AsyncConnection, case_id: str, at: datetime, entries: Sequence[Entry]
) -> None:
    if not entries:
        return
    rows = [
        {"case_id": case_id, "at": at, "kind": kind, "notification_id": nid, "detail": detail}
        for kind, nid, detail in entries
    ]
    await conn.execute(timeline.insert(), rows)
