"""Reading cases (SQL engines): one case, and a filtered keyset page walking the
(is_open, dark_since) indexes. The summary of every open case is thread_summary.py's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.store.case_views import (
    CaseCursor,
    CaseFilter,
    CasePage,
    CaseView,
)
from groundcontrol.store.sql.partitioned import merged_page
from groundcontrol.store.sql.schema import cases
from groundcontrol.store.sql.thread_rows import epoch, to_thread

HAS_THREAD = cases.c.dark_since.is_not(None)


def to_case_view(row: Any) -> CaseView:
    thread = to_thread(row._mapping)
    assert thread is not None
    return CaseView(row.id, row.customer_id, row.status, row.source, thread)


async def get_case(conn: AsyncConnection, case_id: str) -> CaseView | None:
    query = select(cases).where(cases.c.id == case_id, HAS_THREAD)
    row = (await conn.execute(query)).first()
    return to_case_view(row) if row is not None else None


def breached_now(now: datetime) -> Any:
    return and_(cases.c.is_open, cases.c.deadline_epoch <= epoch(now))


def not_breached_now(now: datetime) -> Any:
    deadline = cases.c.deadline_epoch
    return or_(not_(cases.c.is_open), deadline.is_(None), deadline > epoch(now))


def _conditions(where: CaseFilter, now: datetime) -> list[Any]:
    found: list[Any] = [HAS_THREAD]
    if where.open is not None:
        found.append(cases.c.is_open if where.open else not_(cases.c.is_open))
    if where.breached is not None:
        found.append(breached_now(now) if where.breached else not_breached_now(now))
    if where.status is not None:
        found.append(cases.c.status == where.status)
    if where.source is not None:
        found.append(cases.c.source == where.source)
    if where.dark_longer_than is not None:
        found += [cases.c.is_open, cases.c.dark_since < now - where.dark_longer_than]
    if where.after is not None:
        key, after = tuple_(cases.c.dark_since, cases.c.id), where.after
        position = tuple_(after.dark_since, after.case_id)
        found.append(key > position if where.order.ascending else key < position)
    return found


def _pinned_open(where: CaseFilter) -> bool | None:
    """The is_open every listed case has, if the filter decides it."""
    if where.open is not None:
        return where.open
    return True if where.breached or where.dark_longer_than is not None else None


def list_query(where: CaseFilter, now: datetime) -> Select[Any]:
    """Walks an (is_open, ...) index in dark_since order: with is_open open to either,
    one walk per value, merged (a sort of every case ever stored before)."""

    def order(c: Any) -> list[Any]:
        if where.order.ascending:
            return [c.dark_since.asc(), c.id.asc()]
        return [c.dark_since.desc(), c.id.desc()]

    conditions, limit = _conditions(where, now), where.limit + 1
    if _pinned_open(where) is None:
        return merged_page(cases, cases.c.is_open, (True, False), conditions, order, limit)
    return select(cases).where(*conditions).order_by(*order(cases.c)).limit(limit)


async def list_cases(conn: AsyncConnection, where: CaseFilter, now: datetime) -> CasePage:
    rows = (await conn.execute(list_query(where, now))).all()
    items = [to_case_view(row) for row in rows[: where.limit]]
    more = len(rows) > where.limit
    last = items[-1] if items and more else None
    cursor = CaseCursor(last.thread.dark_since, last.case_id) if last else None
    return CasePage(items, cursor)
