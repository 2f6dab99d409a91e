"""Reading cases and the golden thread (SQL engines): one case, a filtered keyset page,
and the summary of every open case. Percentiles are nearest-rank offsets into the
(is_open, dark_since) indexes, so no query reads every open case into memory."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import as_utc
from groundcontrol.planning.golden_thread import rank
from groundcontrol.store.case_views import (
    CaseCursor,
    CaseFilter,
    CasePage,
    CaseView,
    DarkFigures,
    GoldenThreadSummary,
    GroupFigures,
)
from groundcontrol.store.sql.schema import breaches, cases
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


async def thread_counts(conn: AsyncConnection, now: datetime) -> tuple[int, int]:
    breached = func.sum(case((breached_now(now), 1), else_=0))
    query = select(func.count(), breached).where(cases.c.is_open, HAS_THREAD)
    open_count, breached_count = (await conn.execute(query)).one()
    return int(open_count), int(breached_count or 0)


# --- the summary ------------------------------------------------------------------------


async def _dark_at(
    conn: AsyncConnection, where: list[Any], count: int, quantile: float, now: datetime
) -> float:
    """The `quantile` of dark seconds among `count` open cases matching `where`: the
    darker the case, the older its dark_since, so rank r from the lightest is offset
    count - 1 - r from the darkest."""
    offset = count - 1 - rank(count, quantile)
    query = (
        select(cases.c.dark_since)
        .where(cases.c.is_open, HAS_THREAD, *where)
        .order_by(cases.c.dark_since)
        .offset(offset)
        .limit(1)
    )
    since = as_utc((await conn.execute(query)).scalar_one())
    return max(0.0, (now - since).total_seconds())


async def _counts(conn: AsyncConnection, now: datetime) -> list[tuple[Any, Any, int, int]]:
    """Open and breached cases per (status, source): one pass over the open cases serves
    both groupings (each pass costs a scan of every open case)."""
    breached = func.sum(case((breached_now(now), 1), else_=0))
    query = (
        select(cases.c.status, cases.c.source, func.count(), breached)
        .where(cases.c.is_open, HAS_THREAD)
        .group_by(cases.c.status, cases.c.source)
    )
    rows = (await conn.execute(query)).all()
    return [(status, source, int(n), int(b or 0)) for status, source, n, b in rows]


async def _groups(
    conn: AsyncConnection, column: Any, counts: dict[Any, tuple[int, int]], now: datetime
) -> dict[str, GroupFigures]:
    found: dict[str, GroupFigures] = {}
    for key, (count, breached_count) in counts.items():
        p95 = await _dark_at(conn, [_equal(column, key)], count, 0.95, now)
        found[key or ""] = GroupFigures(count, breached_count, p95)
    return found


def _totals(rows: list[tuple[Any, Any, int, int]], index: int) -> dict[Any, tuple[int, int]]:
    totals: dict[Any, tuple[int, int]] = {}
    for row in rows:
        count, breached_count = totals.get(row[index], (0, 0))
        totals[row[index]] = (count + row[2], breached_count + row[3])
    return totals


def _equal(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


async def summary(conn: AsyncConnection, now: datetime, window: timedelta) -> GoldenThreadSummary:
    counts = await _counts(conn, now)
    by_status = await _groups(conn, cases.c.status, _totals(counts, 0), now)
    open_count = sum(g.open for g in by_status.values())
    dark = DarkFigures()
    if open_count:
        dark = DarkFigures(
            p50=await _dark_at(conn, [], open_count, 0.5, now),
            p95=await _dark_at(conn, [], open_count, 0.95, now),
            max=await _dark_at(conn, [], open_count, 1.0, now),
        )
    in_window = await conn.scalar(
        select(func.count()).select_from(breaches).where(breaches.c.deadline >= now - window)
    )
    return GoldenThreadSummary(
        open_cases=open_count,
        breached_now=sum(g.breached_now for g in by_status.values()),
        dark_seconds=dark,
        breaches_in_window=int(in_window or 0),
        by_status=by_status,
        by_source=await _groups(conn, cases.c.source, _totals(counts, 1), now),
    )
