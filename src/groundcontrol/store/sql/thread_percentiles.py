"""Exact dark-seconds percentiles from the golden thread's hourly counts (SQL engines),
every percentile of a summary in two statements whatever the number of groups:

1. the cumulative hourly counts of dark_since name, for each wanted position, the hour
   holding it and how many cases lie in earlier hours (window sums over the counts);
2. one index range query per wanted position, all in one UNION ALL, reads the exact
   dark_since at its offset inside that hour.

A position is nearest-rank among the group's open cases, oldest dark_since first (the
darker the case, the older its dark_since).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, func, literal, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import as_utc
from groundcontrol.planning.golden_thread import rank
from groundcontrol.store.sql.schema import cases, thread_counts, thread_deltas
from groundcontrol.store.sql.thread_rows import from_epoch

BUCKET_SECONDS = 3600  # the width migration 0007's triggers count in
DARK = "dark"
COUNTED = (cases.c.is_open, cases.c.dark_since.is_not(None))

EVERY_CASE, BY_STATUS, BY_SOURCE = 0, 1, 2  # what a wanted percentile's group is


@dataclass(frozen=True)
class Wanted:
    """One percentile: of every open case, or of one status's or one source's."""

    side: int
    name: str  # the status or source ("" for every case, or for cases without a source)
    count: int  # the group's open cases (> 0)
    quantile: float

    @property
    def position(self) -> int:
        return self.count - 1 - rank(self.count, self.quantile)

    def where(self) -> list[Any]:
        if self.side == BY_STATUS:
            return [cases.c.status == self.name]
        if self.side == BY_SOURCE:
            # The counts keep a case without a source under "" (COALESCE in the triggers).
            if self.name:
                return [cases.c.source == self.name]
            return [or_(cases.c.source.is_(None), cases.c.source == "")]
        return []


def counted() -> Any:
    """The counts with the deltas not folded yet (a row per key and source of it)."""
    columns = ("kind", "status", "source", "bucket", "n")
    return union_all(
        select(*(thread_counts.c[c] for c in columns)),
        select(*(thread_deltas.c[c] for c in columns)),
    ).subquery("counted")


def _running_hours() -> Any:
    """Per group (every case, each status, each source) and hour: the cases whose
    dark_since is in that hour, and those in earlier hours."""
    both = counted()
    dark = (
        select(both.c.status, both.c.source, both.c.bucket, func.sum(both.c.n).label("n"))
        .where(both.c.kind == DARK)
        .group_by(both.c.status, both.c.source, both.c.bucket)
        .cte("dark")
    )
    total = func.sum(dark.c.n).label("n")
    hours = union_all(
        select(literal_column(str(EVERY_CASE)).label("side"), literal_column("''").label("name"))
        .add_columns(dark.c.bucket, total)
        .group_by(dark.c.bucket),
        select(literal_column(str(BY_STATUS)), dark.c.status, dark.c.bucket, total).group_by(
            dark.c.status, dark.c.bucket
        ),
        select(literal_column(str(BY_SOURCE)), dark.c.source, dark.c.bucket, total).group_by(
            dark.c.source, dark.c.bucket
        ),
    ).subquery("hours")
    earlier = func.sum(hours.c.n).over(
        partition_by=(hours.c.side, hours.c.name), order_by=hours.c.bucket
    )
    return select(
        hours.c.side, hours.c.name, hours.c.bucket, hours.c.n, (earlier - hours.c.n).label("before")
    ).subquery("running")


def _all(selects: list[Any]) -> Any:
    """One statement of the rows of every select (a UNION ALL needs two or more)."""
    if len(selects) == 1:
        return selects[0]
    return union_all(*selects)


def _wanted_row(index: int, wanted: Wanted) -> Any:
    return select(
        literal_column(str(index)).label("wanted"),
        literal_column(str(wanted.side)).label("side"),
        literal(wanted.name, String).label("name"),
        literal_column(str(wanted.position)).label("position"),
    )


def _wanted_rows(wanted: Sequence[Wanted]) -> Any:
    return _all([_wanted_row(index, w) for index, w in enumerate(wanted)]).subquery("wanted")


async def _hours_holding(conn: AsyncConnection, wanted: Sequence[Wanted]) -> dict[int, Any]:
    """For each wanted percentile (by index): its hour, and the cases in earlier hours."""
    running, rows = _running_hours(), _wanted_rows(wanted)
    holds = and_(
        running.c.side == rows.c.side,
        running.c.name == rows.c.name,
        running.c.before <= rows.c.position,
        running.c.before + running.c.n > rows.c.position,
    )
    query = select(rows.c.wanted, running.c.bucket, running.c.before).join_from(
        running, rows, holds
    )
    return {int(row.wanted): row for row in await conn.execute(query)}


async def _values(
    conn: AsyncConnection, wanted: Sequence[Wanted], hours: dict[int, Any]
) -> dict[int, datetime]:
    members = []
    for index, w in enumerate(wanted):
        bucket, before = int(hours[index].bucket), int(hours[index].before)
        start = from_epoch(bucket * BUCKET_SECONDS)
        end = from_epoch((bucket + 1) * BUCKET_SECONDS)
        inside = (
            select(cases.c.dark_since)
            .where(*COUNTED, *w.where(), cases.c.dark_since >= start, cases.c.dark_since < end)
            .order_by(cases.c.dark_since)
            .offset(w.position - before)
            .limit(1)
            .subquery(f"w{index}")
        )
        members.append(select(literal_column(str(index)).label("wanted"), inside.c.dark_since))
    rows = await conn.execute(_all(members))
    return {int(row.wanted): as_utc(row.dark_since) for row in rows}


async def dark_seconds(
    conn: AsyncConnection, wanted: Sequence[Wanted], now: datetime
) -> list[float]:
    """Each wanted percentile of dark seconds at `now`, in order."""
    if not wanted:
        return []
    hours = await _hours_holding(conn, wanted)
    found = await _values(conn, wanted, hours) if len(hours) == len(wanted) else {}
    if len(found) != len(wanted):
        raise RuntimeError("the golden thread's counts disagree with the cases")
    return [max(0.0, (now - found[i]).total_seconds()) for i in range(len(wanted))]
