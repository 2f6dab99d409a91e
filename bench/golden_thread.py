"""The golden thread at scale (issue 19): with N open cases on PostgreSQL, how long do
`GET /v1/golden-thread`'s summary and `GET /v1/cases?breached=true&order=-dark&limit=50`
take, and how late is a breach recorded while events are being ingested?

    python -m bench --only golden_thread      (section 10 of docs/benchmarks.md)
    python -m bench.golden_thread --postgres postgresql://postgres@127.0.0.1:5432/test \\
        --cases 1000000                         (the same, printed)

Seeds the cases in one INSERT ... SELECT generate_series (the ingest path is measured
by bench/ingest.py; the golden thread's triggers count the seeded rows as they would
any other), ANALYZEs, then times the store calls the handlers make (the handlers add
JSON encoding only). Baselines from the same run: a bare `SELECT count(*) FROM cases`
(what any figure over every case costs at least) and `state_counts()`, the GROUP BY
/metrics already runs on every scrape. Each figure is printed with the load average
when it was taken: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.procs import postgres_url
from bench.stores import reset
from groundcontrol.domain import CustomerPatch, Event
from groundcontrol.planning.journeys import parse_journeys
from groundcontrol.planning.plan import planner_for
from groundcontrol.store.case_views import Breach, CaseFilter
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


def load() -> str:
    return " / ".join(f"{n:.1f}" for n in os.getloadavg())


def percentile(ordered: list[float], quantile: float) -> float:
    return ordered[max(0, round(quantile * len(ordered)) - 1)]


def row(name: str, times: list[float], baseline: float | None = None) -> dict[str, Any]:
    """One call's figures, with its p50 over the same run's bare count(*) when given."""
    ordered = sorted(times)
    p50 = statistics.median(ordered)
    return {
        "call": name,
        "p50_ms": round(p50, 1),
        "p95_ms": round(percentile(ordered, 0.95), 1),
        "max_ms": round(ordered[-1], 1),
        "p50_over_count": round(p50 / baseline, 2) if baseline else None,
        "load": load(),
    }


async def count_all(store: PostgresStore) -> None:
    async with store.engine.connect() as conn:
        await conn.execute(text("SELECT count(*) FROM cases"))


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


# --- breaches falling due while events are ingested --------------------------------------

JOURNEYS = parse_journeys(
    {
        "defaults": {"promise": "72h"},
        "rules": [
            {"status": status, "template": "case_received"}
            for status in ("received", "in_progress", "waiting_on_customer", "on_hold", "review")
        ],
    }
)
BREACH_BATCH = 500  # the dispatcher's


class Clock:
    """The bench's time: NOW when started, then moving with the wall clock."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self) -> datetime:
        return NOW + timedelta(seconds=time.perf_counter() - self.started)


async def spread_deadlines(store: PostgresStore, count: int, lead: float, rate: float) -> None:
    """`count` open cases whose promise breaks one after another, `rate` a second, from
    `lead` seconds after NOW."""
    async with store.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE cases SET breach_due_epoch = :start + picked.n / :rate,"
                " deadline_epoch = :start + picked.n / :rate"
                " FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM cases"
                "       WHERE breach_due_epoch IS NOT NULL ORDER BY id LIMIT :count) AS picked"
                " WHERE cases.id = picked.id"
            ),
            {"start": NOW.timestamp() + lead, "rate": rate, "count": count},
        )


async def record_breaches(
    store: PostgresStore, clock: Clock, until: datetime, lateness: list[float]
) -> None:
    """The dispatcher's breach loop: record what is due, then nap until the next due
    time (at most 1 s); lateness = when the batch was recorded - the deadline."""
    while True:
        while True:
            found: list[Breach] = await store.fire_due_breaches(clock(), BREACH_BATCH)
            recorded = clock()
            lateness += [(recorded - b.deadline).total_seconds() * 1000 for b in found]
            if len(found) < BREACH_BATCH:
                break
        if clock() >= until:
            return
        due = await store.next_due_at()
        nap = 1.0 if due is None else (due - clock()).total_seconds()
        await asyncio.sleep(min(1.0, max(0.0, nap)))


def _event(n: int, now: datetime) -> Event:
    # Half the events open new cases, half move seeded ones to another status.
    case_id = f"I-{n}" if n % 2 else f"B-{1 + (n * 7919) % 900_000}"
    status = ("received", "in_progress", "waiting_on_customer", "on_hold", "review")[n % 5]
    return Event(
        source=("crm", "erp", "web")[n % 3],
        id=f"bench-{n}",
        case_id=case_id,
        status=status,
        occurred_at=now,
        customer=CustomerPatch(f"cust-i-{n}", {"email": "a@example.com", "channels": ["email"]}),
        body_hash=f"h-{n}",
    )


async def ingest_steadily(
    store: PostgresStore, clock: Clock, until: datetime, per_second: int, batch: int
) -> tuple[int, list[float]]:
    """Events recorded at a steady rate, `batch` per transaction (as the API's group
    commit does): (events recorded, each batch's milliseconds)."""
    interval = batch / per_second
    recorded, times = 0, []
    next_at = time.perf_counter()
    while clock() < until:
        now = clock()
        events = [_event(recorded + i, now) for i in range(batch)]
        started = time.perf_counter()
        await store.record_events(events, planner_for(JOURNEYS, now), now)
        times.append((time.perf_counter() - started) * 1000)
        recorded += batch
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    return recorded, times


async def breaches_while_ingesting(
    store: PostgresStore, seconds: float, breaches_per_second: float, events_per_second: int
) -> dict[str, Any]:
    due = int(seconds * breaches_per_second)
    await spread_deadlines(store, due, lead=1.0, rate=breaches_per_second)
    clock = Clock()
    until = NOW + timedelta(seconds=seconds + 2)
    lateness: list[float] = []
    (recorded, batch_ms), _ = await asyncio.gather(
        ingest_steadily(store, clock, until, events_per_second, batch=50),
        record_breaches(store, clock, until, lateness),
    )
    ordered, batches = sorted(lateness), sorted(batch_ms)
    # Beyond the `due` ones: seeded cases whose 72 h promise broke meanwhile.
    return {
        "call": f"breaches falling due {breaches_per_second:.0f}/s while ingesting",
        "breaches": len(ordered),
        "events_per_s": round(recorded / (seconds + 2)),
        "asked_events_per_s": events_per_second,
        "batch_p50_ms": round(statistics.median(batches)),
        "lateness_p50_ms": round(statistics.median(ordered)),
        "lateness_p99_ms": round(percentile(ordered, 0.99)),
        "lateness_max_ms": round(ordered[-1]),
        "load": load(),
    }


async def run(url: str, cases: int, runs: int, ingest: argparse.Namespace) -> dict[str, Any]:
    """Seed `cases` open cases, time the reads, then breaches while ingesting."""
    await reset(url)
    store = PostgresStore(url)
    await store.open()
    try:
        seeded = await seed(store, cases)
        summary = lambda: store.golden_thread(NOW, timedelta(days=7))  # noqa: E731
        counted = await timed(lambda: count_all(store), runs)
        calls = [
            row("baseline: SELECT count(*) FROM cases", counted),
            row("baseline: state_counts()", await timed(store.state_counts, runs)),
            row("golden_thread(now, 7d)", await timed(summary, runs), min(counted)),
        ]
        await vacuum(store)
        counted = await timed(lambda: count_all(store), runs)
        breached = CaseFilter(breached=True, limit=50)
        calls += [
            row("baseline after VACUUM: SELECT count(*) FROM cases", counted),
            row("golden_thread(now, 7d) after VACUUM", await timed(summary, runs), min(counted)),
            row(
                "list_cases(breached, -dark, 50)",
                await timed(lambda: store.list_cases(breached, NOW), runs),
                min(counted),
            ),
            row("get_case", await timed(lambda: store.get_case("B-4242"), runs)),
            row(
                "thread_counts(now) (/metrics)", await timed(lambda: store.thread_counts(NOW), runs)
            ),
        ]
        ingesting = await breaches_while_ingesting(
            store, ingest.ingest_seconds, ingest.breaches_per_second, ingest.events_per_second
        )
        calls.append(row("golden_thread(now, 7d) after the ingest", await timed(summary, runs)))
        return {"cases": cases, "seed_s": round(seeded, 1), "calls": calls, "ingesting": ingesting}
    finally:
        await store.close()
        await reset(url)


async def run_for_bench(cases: int, seconds: float) -> dict[str, Any]:
    """What `python -m bench --only golden_thread` runs (section 10)."""
    settings = argparse.Namespace(
        ingest_seconds=seconds, breaches_per_second=50.0, events_per_second=500
    )
    return await run(postgres_url("bench_golden_thread"), cases, 15, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--ingest-seconds", type=float, default=60.0)
    parser.add_argument("--breaches-per-second", type=float, default=50.0)
    parser.add_argument("--events-per-second", type=int, default=500)
    args = parser.parse_args()
    separator = "&" if "?" in args.postgres else "?"
    url = f"{args.postgres}{separator}search_path=bench_golden_thread"
    print(json.dumps(asyncio.run(run(url, args.cases, args.runs, args)), indent=1))


if __name__ == "__main__":
    main()
