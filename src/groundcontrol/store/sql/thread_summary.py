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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, cast, func, or_, select, text, union_all
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
Histogram = dict[int, int]  # bucket -> open cases


@dataclass
class Counts:
    dark: dict[Group, Histogram] = field(default_factory=dict)
    deadline: dict[Group, Histogram] = field(default_factory=dict)


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
"""
)


async def fold_deltas(conn: AsyncConnection) -> None:
    """Move the deltas the triggers appended into the counts (PostgreSQL), in one
    transaction of one instance at a time: another reader that finds the lock taken
    skips, since the reads sum the counts and any deltas left anyway."""
    lock = text("SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.gt_fold'))")
    if not await conn.scalar(lock):
        return
    await conn.execute(FOLD)
    await conn.execute(thread_counts.delete().where(thread_counts.c.n == 0))


# --- reading ----------------------------------------------------------------------------------


async def read_counts(conn: AsyncConnection) -> Counts:
    columns = ("kind", "status", "source", "bucket", "n")
    both = union_all(
        select(*(thread_counts.c[c] for c in columns)),
        select(*(thread_deltas.c[c] for c in columns)),
    ).subquery()
    keys = (both.c.kind, both.c.status, both.c.source, both.c.bucket)
    total = func.sum(both.c.n)
    query = select(*keys, total).group_by(*keys).having(total != 0)
    counts = Counts()
    for kind, status, source, bucket, n in await conn.execute(query):
        table = counts.dark if kind == DARK else counts.deadline
        table.setdefault((status, source), {})[int(bucket)] = int(n)
    return counts


def bucket_of(at: datetime) -> int:
    return math.floor(at.timestamp() / BUCKET_SECONDS)


def _deadline_bucket(dialect: str) -> Any:
    # The triggers' own expression, so a deadline a float's rounding away from an hour
    # boundary is counted in the same hour here as there.
    hours = cases.c.deadline_epoch / BUCKET_SECONDS
    return func.floor(hours) if dialect == "postgresql" else cast(hours, Integer)


async def breached_now(conn: AsyncConnection, counts: Counts, now: datetime) -> dict[Group, int]:
    """Open cases past their deadline, per group: whole hours from the counts, the
    current hour from the rows."""
    current = bucket_of(now)
    found: dict[Group, int] = {}
    for group, histogram in counts.deadline.items():
        passed = sum(n for bucket, n in histogram.items() if bucket < current)
        if passed:
            found[group] = passed
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


def _merged(histograms: Iterable[Histogram]) -> Histogram:
    merged: Histogram = {}
    for histogram in histograms:
        for bucket, n in histogram.items():
            merged[bucket] = merged.get(bucket, 0) + n
    return merged


async def dark_at(
    conn: AsyncConnection, histogram: Histogram, where: list[Any], quantile: float, now: datetime
) -> float | None:
    """The `quantile` of dark seconds among the open cases `histogram` counts (those
    matching `where`). The darker the case, the older its dark_since: rank r from the
    lightest is position count - 1 - r from the oldest."""
    count = sum(histogram.values())
    if count <= 0:
        return None
    position = count - 1 - rank(count, quantile)
    for bucket in sorted(histogram):
        if position < histogram[bucket]:
            since = await _nth_in_bucket(conn, where, bucket, position)
            return max(0.0, (now - since).total_seconds())
        position -= histogram[bucket]
    raise AssertionError("a position within the count lies in one of its buckets")


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


def _source_is(name: str) -> Any:
    # The counts keep a case without a source under "" (COALESCE in the triggers).
    if name:
        return cases.c.source == name
    return or_(cases.c.source.is_(None), cases.c.source == "")


async def _groups(
    conn: AsyncConnection,
    counts: Counts,
    breached: Mapping[Group, int],
    side: int,
    now: datetime,
) -> dict[str, GroupFigures]:
    """Figures per status (`side` 0) or per source (`side` 1)."""
    members: dict[str, list[Group]] = {}
    for group in counts.dark:
        members.setdefault(group[side], []).append(group)
    found: dict[str, GroupFigures] = {}
    for name, groups in sorted(members.items()):
        histogram = _merged(counts.dark[g] for g in groups)
        where = [cases.c.status == name] if side == 0 else [_source_is(name)]
        found[name] = GroupFigures(
            open=sum(histogram.values()),
            breached_now=sum(breached.get(g, 0) for g in groups),
            p95_dark_seconds=await dark_at(conn, histogram, where, 0.95, now),
        )
    return found


async def summary(conn: AsyncConnection, now: datetime, window: timedelta) -> GoldenThreadSummary:
    counts = await read_counts(conn)
    breached = await breached_now(conn, counts, now)
    overall = _merged(counts.dark.values())
    in_window = await conn.scalar(
        select(func.count()).select_from(breaches).where(breaches.c.deadline >= now - window)
    )
    return GoldenThreadSummary(
        open_cases=sum(overall.values()),
        breached_now=sum(breached.values()),
        dark_seconds=DarkFigures(
            p50=await dark_at(conn, overall, [], 0.5, now),
            p95=await dark_at(conn, overall, [], 0.95, now),
            max=await dark_at(conn, overall, [], 1.0, now),
        ),
        breaches_in_window=int(in_window or 0),
        by_status=await _groups(conn, counts, breached, 0, now),
        by_source=await _groups(conn, counts, breached, 1, now),
    )


async def open_and_breached(conn: AsyncConnection, now: datetime) -> tuple[int, int]:
    """The two gauges /metrics sets on each scrape."""
    counts = await read_counts(conn)
    breached = await breached_now(conn, counts, now)
    return sum(_merged(counts.dark.values()).values()), sum(breached.values())


async def snapshot(conn: AsyncConnection) -> AsyncConnection:
    """`conn`, reading every statement of its transaction from one snapshot."""
    if conn.dialect.name == "postgresql":
        return await conn.execution_options(isolation_level="REPEATABLE READ")
    return conn  # SQLite: the read transaction already is one
