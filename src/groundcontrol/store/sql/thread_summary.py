"""The golden thread's summary from maintained counts (SQL engines), exact, in time that
does not grow with the number of open cases.

Triggers on `cases` (migration 0006) keep, per (status, source), how many open cases
have their dark_since in each hour ("dark") and their deadline in each hour
("deadline"). From those:

- open cases = the dark counts' total;
- breached now = the deadline counts of every hour before the current one, plus the
  cases of the current hour whose deadline has passed (an index range on the deadline
  of at most one hour of cases);
- a dark-seconds percentile = now - the matching dark_since: the cumulative counts name
  the hour holding the k-th oldest dark_since, and one index range query reads the exact
  value inside that hour (an OFFSET within one hour of cases, not within all of them).

Every figure is read in one snapshot (REPEATABLE READ on PostgreSQL; SQLite's read
transaction is one), so the counts and the rows they point into agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, or_, select, text, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import as_utc
from groundcontrol.planning.golden_thread import rank
from groundcontrol.store.case_views import DarkFigures, GoldenThreadSummary, GroupFigures
from groundcontrol.store.sql.schema import breaches, cases, thread_counts, thread_deltas
from groundcontrol.store.sql.thread_rows import from_epoch

BUCKET_SECONDS = 3600  # the width migration 0006's triggers count in
DARK, DEADLINE = "dark", "deadline"
COUNTED = (cases.c.is_open, cases.c.dark_since.is_not(None))

Group = tuple[str, str]  # (status, source); source "" for a case without one


@dataclass(frozen=True)
class Totals:
    """Per group: open cases, and those whose deadline fell in an hour already over."""

    open: dict[Group, int]
    breached_before_this_hour: dict[Group, int]


# --- keeping the counts small (PostgreSQL) --------------------------------------------------

FOLD = text(
    """
WITH moved AS (
    DELETE FROM golden_thread_deltas RETURNING kind, status, source, bucket, n
), summed AS (
    SELECT kind, status, source, bucket, sum(n) AS n FROM moved
    GROUP BY kind, status, source, bucket
)
INSERT INTO golden_thread_counts (kind, status, source, bucket, n)
SELECT kind, status, source, bucket, n FROM summed ORDER BY kind, status, source, bucket
ON CONFLICT (kind, status, source, bucket)
DO UPDATE SET n = golden_thread_counts.n + EXCLUDED.n
RETURNING kind, status, source, bucket, n
"""
)


async def fold_deltas(conn: AsyncConnection) -> None:
    """Move the deltas the triggers appended into the counts (PostgreSQL), in one
    transaction of one instance at a time: another reader that finds the lock taken
    skips, since the reads sum the counts and any deltas left anyway."""
    lock = text("SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.gt_fold'))")
    if not await conn.scalar(lock):
        return
    emptied = [tuple(row[:4]) for row in await conn.execute(FOLD) if row.n == 0]
    if emptied:  # an hour no open case is in any more
        key = tuple_(
            thread_counts.c.kind,
            thread_counts.c.status,
            thread_counts.c.source,
            thread_counts.c.bucket,
        )
        await conn.execute(thread_counts.delete().where(key.in_(emptied), thread_counts.c.n == 0))


# --- reading ----------------------------------------------------------------------------------


def _both() -> Any:
    """The counts with the deltas not folded yet (a row per key and source of it)."""
    columns = ("kind", "status", "source", "bucket", "n")
    return union_all(
        select(*(thread_counts.c[c] for c in columns)),
        select(*(thread_deltas.c[c] for c in columns)),
    ).subquery("counted")


def bucket_of(at: datetime) -> int:
    return math.floor(at.timestamp() / BUCKET_SECONDS)


async def totals(conn: AsyncConnection, now: datetime) -> Totals:
    both = _both()
    passed = and_(both.c.kind == DEADLINE, both.c.bucket < bucket_of(now))
    query = select(
        both.c.status,
        both.c.source,
        func.sum(case((both.c.kind == DARK, both.c.n), else_=0)),
        func.sum(case((passed, both.c.n), else_=0)),
    ).group_by(both.c.status, both.c.source)
    opened: dict[Group, int] = {}
    breached: dict[Group, int] = {}
    for status, source, open_count, passed_count in await conn.execute(query):
        if int(open_count or 0):
            opened[(status, source)] = int(open_count)
        if int(passed_count or 0):
            breached[(status, source)] = int(passed_count)
    return Totals(opened, breached)


def _deadline_bucket(dialect: str) -> Any:
    # The triggers' own expression, so a deadline a float's rounding away from an hour
    # boundary is counted in the same hour here as there.
    hours = cases.c.deadline_epoch / BUCKET_SECONDS
    return func.floor(hours) if dialect == "postgresql" else cast(hours, Integer)


async def breached_now(conn: AsyncConnection, counted: Totals, now: datetime) -> dict[Group, int]:
    """Open cases past their deadline, per group: whole hours from the counts, the
    current hour from the rows (an index range over at most one hour of deadlines)."""
    current = bucket_of(now)
    found = dict(counted.breached_before_this_hour)
    deadline = cases.c.deadline_epoch
    source = func.coalesce(cases.c.source, "")
    query = (
        select(cases.c.status, source, func.count())
        .where(
            *COUNTED,
            deadline >= current * BUCKET_SECONDS - 1,  # the index range, with slack
            deadline <= now.timestamp(),
            _deadline_bucket(conn.dialect.name) >= current,
        )
        .group_by(cases.c.status, source)
    )
    for status, source_name, n in await conn.execute(query):
        found[(status, source_name)] = found.get((status, source_name), 0) + int(n)
    return found


async def _bucket_holding(
    conn: AsyncConnection, where_counted: list[Any], position: int
) -> tuple[int, int]:
    """The hour holding the `position`-th oldest dark_since (0-based) among the counted
    cases `where_counted` selects, and how many of them lie in earlier hours."""
    both = _both()
    hours = (
        select(both.c.bucket, func.sum(both.c.n).label("n"))
        .where(both.c.kind == DARK, *(w(both) for w in where_counted))
        .group_by(both.c.bucket)
        .subquery("hours")
    )
    before = (func.sum(hours.c.n).over(order_by=hours.c.bucket) - hours.c.n).label("before")
    running = select(hours.c.bucket, hours.c.n, before).subquery("running")
    query = select(running.c.bucket, running.c.before).where(
        running.c.before <= position, running.c.before + running.c.n > position
    )
    bucket, earlier = (await conn.execute(query)).one()
    return int(bucket), int(earlier)


async def dark_at(
    conn: AsyncConnection, group: Selector, count: int, quantile: float, now: datetime
) -> float | None:
    """The `quantile` of dark seconds among the `count` open cases of `group`. The darker
    the case, the older its dark_since: rank r from the lightest is position
    count - 1 - r from the oldest."""
    if count <= 0:
        return None
    position = count - 1 - rank(count, quantile)
    bucket, earlier = await _bucket_holding(conn, group.counted, position)
    since = await _nth_in_bucket(conn, group.cases, bucket, position - earlier)
    return max(0.0, (now - since).total_seconds())


async def _nth_in_bucket(
    conn: AsyncConnection, where: list[Any], bucket: int, position: int
) -> datetime:
    start = from_epoch(bucket * BUCKET_SECONDS)
    end = from_epoch((bucket + 1) * BUCKET_SECONDS)
    query = (
        select(cases.c.dark_since)
        .where(*COUNTED, *where, cases.c.dark_since >= start, cases.c.dark_since < end)
        .order_by(cases.c.dark_since)
        .offset(position)
        .limit(1)
    )
    found = (await conn.execute(query)).scalar_one_or_none()
    if found is None:
        raise RuntimeError("the golden thread's counts disagree with the cases")
    return as_utc(found)


@dataclass(frozen=True)
class Selector:
    """One group of open cases, as conditions on the counts and on the cases."""

    counted: list[Callable[[Any], Any]]
    cases: list[Any]


EVERY_CASE = Selector([], [])


def _by_status(name: str) -> Selector:
    return Selector([lambda t: t.c.status == name], [cases.c.status == name])


def _by_source(name: str) -> Selector:
    # The counts keep a case without a source under "" (COALESCE in the triggers).
    none = or_(cases.c.source.is_(None), cases.c.source == "")
    return Selector([lambda t: t.c.source == name], [cases.c.source == name if name else none])


async def _groups(
    conn: AsyncConnection,
    opened: Mapping[Group, int],
    breached: Mapping[Group, int],
    side: int,
    now: datetime,
) -> dict[str, GroupFigures]:
    """Figures per status (`side` 0) or per source (`side` 1)."""
    members: dict[str, list[Group]] = {}
    for group in opened:
        members.setdefault(group[side], []).append(group)
    found: dict[str, GroupFigures] = {}
    for name, groups in sorted(members.items()):
        count = sum(opened[g] for g in groups)
        selector = _by_status(name) if side == 0 else _by_source(name)
        found[name] = GroupFigures(
            open=count,
            breached_now=sum(breached.get(g, 0) for g in groups),
            p95_dark_seconds=await dark_at(conn, selector, count, 0.95, now),
        )
    return found


async def summary(conn: AsyncConnection, now: datetime, window: timedelta) -> GoldenThreadSummary:
    counted = await totals(conn, now)
    breached = await breached_now(conn, counted, now)
    open_count = sum(counted.open.values())
    in_window = await conn.scalar(
        select(func.count()).select_from(breaches).where(breaches.c.deadline >= now - window)
    )
    return GoldenThreadSummary(
        open_cases=open_count,
        breached_now=sum(breached.values()),
        dark_seconds=DarkFigures(
            p50=await dark_at(conn, EVERY_CASE, open_count, 0.5, now),
            p95=await dark_at(conn, EVERY_CASE, open_count, 0.95, now),
            max=await dark_at(conn, EVERY_CASE, open_count, 1.0, now),
        ),
        breaches_in_window=int(in_window or 0),
        by_status=await _groups(conn, counted.open, breached, 0, now),
        by_source=await _groups(conn, counted.open, breached, 1, now),
    )


async def open_and_breached(conn: AsyncConnection, now: datetime) -> tuple[int, int]:
    """The two gauges /metrics sets on each scrape."""
    counted = await totals(conn, now)
    breached = await breached_now(conn, counted, now)
    return sum(counted.open.values()), sum(breached.values())


async def snapshot(conn: AsyncConnection) -> AsyncConnection:
    """`conn`, reading every statement of its transaction from one snapshot."""
    if conn.dialect.name == "postgresql":
        return await conn.execution_options(isolation_level="REPEATABLE READ")
    return conn  # SQLite: the read transaction already is one
