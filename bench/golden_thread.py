"""The golden thread at scale (issue 19): with N open cases on PostgreSQL, how long do
`GET /v1/golden-thread`'s summary and `GET /v1/cases?breached=true&order=-dark&limit=50`
take, and how late is a due breach recorded?

    python -m bench.golden_thread --postgres postgresql://postgres@127.0.0.1:5432/test \\
        --cases 1000000

Seeds the cases in one INSERT ... SELECT generate_series (the ingest path is measured
by bench/ingest.py), ANALYZEs, then times the store calls the handlers make (the
handlers add JSON encoding only). Baseline from the same run: `state_counts()`, the
GROUP BY that /metrics already runs on every scrape. Not part of `make bench` yet.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.stores import reset
from groundcontrol.store.case_views import CaseFilter
from groundcontrol.store.sql.postgres import PostgresStore

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PROMISE = 72 * 3600

SEED = """
INSERT INTO cases (id, customer_id, status, status_at, priority, data, created_at, updated_at,
                   source, is_open, opened_at, dark_since, promise_seconds, deadline_epoch,
                   breach_due_epoch, breached_at)
SELECT 'B-' || g, 'cust-' || g,
       (ARRAY['received','in_progress','waiting_on_customer','on_hold','review'])[1 + g % 5],
       :now, 2, '{{}}'::jsonb, :now, :now,
       (ARRAY['crm','erp','web'])[1 + g % 3], true, d, d, {promise},
       extract(epoch FROM d) + {promise},
       CASE WHEN extract(epoch FROM d) + {promise} > {now_epoch}
            THEN extract(epoch FROM d) + {promise} END,
       CASE WHEN extract(epoch FROM d) + {promise} <= {now_epoch}
            THEN d + make_interval(secs => {promise}) END
FROM (SELECT g, CAST(:now AS timestamptz)
                 - make_interval(secs => power(random(), 3) * 30 * 86400) AS d
      FROM generate_series(1, {n}) AS g) AS seeded
"""


async def timed(call: Callable[[], Awaitable[Any]], runs: int) -> list[float]:
    await call()  # warm the cache and the plan
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"| {name} | {statistics.median(ordered):.1f} | {p95:.1f} | {ordered[-1]:.1f} |"


async def seed(store: PostgresStore, cases: int) -> float:
    started = time.perf_counter()
    # Our own integers, formatted in: asyncpg cannot type a parameter used as both.
    statement = SEED.format(promise=PROMISE, now_epoch=NOW.timestamp(), n=int(cases))
    async with store.engine.begin() as conn:
        await conn.execute(text(statement), {"now": NOW})
    async with store.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE cases"))
    return time.perf_counter() - started


async def vacuum(store: PostgresStore) -> None:
    """What autovacuum does after a bulk insert: marks the pages all-visible, so the
    index-only scans the percentiles walk stop fetching each row from the heap."""
    async with store.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE cases"))


async def breach_lateness(store: PostgresStore, due: int) -> list[float]:
    """`due` cases whose promise breaks at NOW + 1 s: record them with the dispatcher's
    batch size and report each one's lateness (recorded - deadline) when the clock ticks
    at the deadline, as the dispatcher's nap makes it."""
    deadline = NOW + timedelta(seconds=1)
    async with store.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE cases SET breach_due_epoch = :d, deadline_epoch = :d "
                "WHERE id IN (SELECT id FROM cases WHERE breach_due_epoch IS NOT NULL "
                "ORDER BY id LIMIT :n)"
            ),
            {"d": deadline.timestamp(), "n": due},
        )
    lateness: list[float] = []
    started = time.perf_counter()
    while True:
        found = await store.fire_due_breaches(deadline, 500)
        done = (time.perf_counter() - started) * 1000
        lateness += [done] * len(found)
        if len(found) < 500:
            return lateness


async def run(url: str, cases: int, runs: int) -> None:
    await reset(url)
    store = PostgresStore(url)
    await store.open()
    try:
        print(f"seeded {cases:,} open cases in {await seed(store, cases):.1f} s")
        print("| call | p50 ms | p95 ms | max ms |\n| --- | --- | --- | --- |")
        print(line("baseline: state_counts()", await timed(store.state_counts, runs)))
        print(
            line(
                "golden_thread(now, 7d)",
                await timed(lambda: store.golden_thread(NOW, timedelta(days=7)), runs),
            )
        )
        await vacuum(store)
        print(
            line(
                "golden_thread(now, 7d) after VACUUM",
                await timed(lambda: store.golden_thread(NOW, timedelta(days=7)), runs),
            )
        )
        breached = CaseFilter(breached=True, limit=50)
        print(
            line(
                "list_cases(breached, -dark, 50)",
                await timed(lambda: store.list_cases(breached, NOW), runs),
            )
        )
        print(line("get_case", await timed(lambda: store.get_case("B-4242"), runs)))
        late = await breach_lateness(store, 2000)
        print(
            f"2,000 breaches due at once: recorded within {max(late):.0f} ms of the deadline tick"
        )
    finally:
        await store.close()
        await reset(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    separator = "&" if "?" in args.postgres else "?"
    url = f"{args.postgres}{separator}search_path=bench_golden_thread"
    asyncio.run(run(url, args.cases, args.runs))


if __name__ == "__main__":
    main()
