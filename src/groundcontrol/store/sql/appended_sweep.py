"""Retention for append-only history without an index on its time (timeline, events):
rows are appended with the writer's clock, so their integer keys grow with their times.
The sweep walks the keys from the oldest, a window of `batch` keys per transaction
(a primary-key range), deletes the window's rows older than the horizon, and stops
after a window whose rows are all at least MARGIN past the horizon. The walk costs the
old rows plus MARGIN's worth of new ones; a sweep that found nothing used to read the
whole table, once per batch for events.

A row is never deleted unless its own time is before the horizon. A row stamped more
than MARGIN earlier than a row appended before it (clocks that far apart between
instances) can be left for a later sweep; it is never kept for good, since every day
moves the horizon past it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

MARGIN = timedelta(hours=1)


class SqlTables(Protocol):
    """What a sweep needs from an SQL store: write transactions."""

    def write(self) -> AbstractAsyncContextManager[AsyncConnection]: ...


@dataclass(frozen=True)
class Appended:
    """A table whose `key` grows with `at`: its rows before `horizon` go, those that
    also meet `also` if given."""

    table: Table
    key: Any
    at: Any
    horizon: datetime
    also: ColumnElement[bool] | None = None


def window_query(target: Appended, after: int, batch: int) -> Any:
    """The last key of the next `batch` keys after `after`, their number, whether any of
    them is older than the horizon, and whether all are MARGIN past it: a range of the
    primary key."""
    keys = select(target.key.label("key"), target.at.label("at")).where(target.key > after)
    window = keys.order_by(target.key).limit(batch).subquery()
    oldest = func.min(window.c.at)
    old, past = oldest < target.horizon, oldest >= target.horizon + MARGIN
    return select(func.max(window.c.key), func.count(), old, past)


def delete_statement(target: Appended, after: int, last: int) -> Any:
    """The window's rows older than the horizon: a range of the primary key."""
    conditions = [target.key > after, target.key <= last, target.at < target.horizon]
    if target.also is not None:
        conditions.append(target.also)
    return delete(target.table).where(*conditions)


async def sweep_appended(store: SqlTables, batch: int, target: Appended) -> int:
    after, deleted = 0, 0
    while True:
        async with store.write() as conn:
            last, seen, old, past = (await conn.execute(window_query(target, after, batch))).one()
            if not seen:
                return deleted
            if old:
                result = await conn.execute(delete_statement(target, after, last))
                deleted += int(result.rowcount)
        if seen < batch or past:
            return deleted
        after = last
