"""The golden thread's summary from maintained counts (SQL engines), exact, in time that
does not grow with the number of open cases.

Triggers on `cases` (migration 0007) keep, per (status, source), how many open cases
have their dark_since in each hour ("dark") and their deadline in each hour
("deadline"). From those:

- open cases = the dark counts' total;
- breached now = the deadline counts of every hour before the current one, plus the
  cases of the current hour whose deadline has passed (an index range on the deadline
  of at most one hour of cases);
- a dark-seconds percentile = now - the matching dark_since: the cumulative counts name
  the hour holding the k-th oldest dark_since, and an index range query reads the exact
  value inside that hour (an OFFSET within one hour of cases, not within all of them);
  every percentile of the summary in two statements (thread_percentiles.py).

Every figure is read in one snapshot (REPEATABLE READ on PostgreSQL; SQLite's read
transaction is one), so the counts and the rows they point into agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.store.case_views import DarkFigures, GoldenThreadSummary, GroupFigures
from groundcontrol.store.sql.schema import breaches, cases, thread_counts
from groundcontrol.store.sql.thread_percentiles import (
    BUCKET_SECONDS,
    BY_SOURCE,
    BY_STATUS,
    COUNTED,
    DARK,
    EVERY_CASE,
    Wanted,
    counted,
    dark_seconds,
)

DEADLINE = "deadline"

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


def bucket_of(at: datetime) -> int:
    return math.floor(at.timestamp() / BUCKET_SECONDS)


async def totals(conn: AsyncConnection, now: datetime) -> Totals:
    both = counted()
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


def _by(opened: Mapping[Group, int], side: int) -> dict[str, list[Group]]:
    """The (status, source) groups of each status (`side` 0) or source (`side` 1)."""
    members: dict[str, list[Group]] = {}
    for group in opened:
        members.setdefault(group[side], []).append(group)
    return dict(sorted(members.items()))


async def summary(conn: AsyncConnection, now: datetime, window: timedelta) -> GoldenThreadSummary:
    counts = await totals(conn, now)
    breached = await breached_now(conn, counts, now)
    open_count = sum(counts.open.values())
    statuses, sources = _by(counts.open, 0), _by(counts.open, 1)

    def size(groups: list[Group]) -> int:
        return sum(counts.open[g] for g in groups)

    wanted = [
        *(Wanted(EVERY_CASE, "", open_count, q) for q in (0.5, 0.95, 1.0) if open_count),
        *(Wanted(BY_STATUS, name, size(groups), 0.95) for name, groups in statuses.items()),
        *(Wanted(BY_SOURCE, name, size(groups), 0.95) for name, groups in sources.items()),
    ]
    found = dict(zip(wanted, await dark_seconds(conn, wanted, now), strict=True))

    def figures(side: int, name: str, groups: list[Group]) -> GroupFigures:
        return GroupFigures(
            open=size(groups),
            breached_now=sum(breached.get(g, 0) for g in groups),
            p95_dark_seconds=found[Wanted(side, name, size(groups), 0.95)],
        )

    in_window = await conn.scalar(
        select(func.count()).select_from(breaches).where(breaches.c.deadline >= now - window)
    )
    every = [found.get(Wanted(EVERY_CASE, "", open_count, q)) for q in (0.5, 0.95, 1.0)]
    return GoldenThreadSummary(
        open_cases=open_count,
        breached_now=sum(breached.values()),
        dark_seconds=DarkFigures(*every),
        breaches_in_window=int(in_window or 0),
        by_status={n: figures(BY_STATUS, n, g) for n, g in statuses.items()},
        by_source={n: figures(BY_SOURCE, n, g) for n, g in sources.items()},
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
