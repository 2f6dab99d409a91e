"""Reading cases (SQL engines): one case, and a filtered keyset page walking the
(is_open, dark_since) indexes. The summary of every open case is thread_summary.py's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.store.case_views import (
    CaseCursor,
    CaseFilter,
    CasePage,
    CaseView,
)
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


async def list_cases(conn: AsyncConnection, where: CaseFilter, now: datetime) -> CasePage:
    order = (
        (cases.c.dark_since.asc(), cases.c.id.asc())
        if where.order.ascending
        else (cases.c.dark_since.desc(), cases.c.id.desc())
    )
    query = select(cases).where(*_conditions(where, now)).order_by(*order).limit(where.limit + 1)
    rows = (await conn.execute(query)).all()
    items = [to_case_view(row) for row in rows[: where.limit]]
    more = len(rows) > where.limit
    last = items[-1] if items and more else None
    cursor = CaseCursor(last.thread.dark_since, last.case_id) if last else None
    return CasePage(items, cursor)
