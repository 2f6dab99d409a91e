"""The golden thread's reads on SQLite at N open cases (issue 19): the same seed shape
as bench/golden_thread.py (dark since up to 30 days, cubic towards recent, promise
72 h), the same calls, the same same-run baseline (a bare `SELECT count(*) FROM cases`).

    python -m bench.golden_thread_sqlite --cases 1000000 [--path /tmp/gt.db]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.golden_thread import NOW, PROMISE, row, timed
from bench.stores import reset
from groundcontrol.store.case_views import CaseFilter
from groundcontrol.store.sql.sqlite import SqliteStore

# SQLAlchemy keeps SQLite times as "YYYY-MM-DD HH:MM:SS.ffffff" text, in UTC.
INSERT = """
INSERT INTO cases (id, customer_id, status, status_at, priority, data, created_at, updated_at,
                   source, is_open, opened_at, dark_since, promise_seconds, deadline_epoch,
                   breach_due_epoch, breached_at)
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :cases),
ages AS (SELECT n, abs(random()) / 9223372036854775808.0 AS r FROM g),
seeded AS (SELECT n, :now - CAST(r * r * r * 2592000 AS INTEGER) AS d FROM ages)
SELECT 'B-' || n, 'cust-' || n,
       CASE n % 5 WHEN 0 THEN 'received' WHEN 1 THEN 'in_progress'
                  WHEN 2 THEN 'waiting_on_customer' WHEN 3 THEN 'on_hold' ELSE 'review' END,
       :stamp, 2, '{}', :stamp, :stamp,
       CASE n % 3 WHEN 0 THEN 'crm' WHEN 1 THEN 'erp' ELSE 'web' END,
       1, strftime('%Y-%m-%d %H:%M:%S', d, 'unixepoch') || '.000000',
       strftime('%Y-%m-%d %H:%M:%S', d, 'unixepoch') || '.000000',
       :promise, d + :promise,
       CASE WHEN d + :promise > :now THEN d + :promise END,
       CASE WHEN d + :promise <= :now
            THEN strftime('%Y-%m-%d %H:%M:%S', d + :promise, 'unixepoch') || '.000000' END
FROM seeded
"""


async def seed(store: SqliteStore, cases: int) -> float:
    started = time.perf_counter()
    stamp = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    async with store.write() as conn:
        await conn.execute(
            text(INSERT),
            {"cases": cases, "now": int(NOW.timestamp()), "stamp": stamp, "promise": PROMISE},
        )
    async with store.write() as conn:
        await conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


async def count_all(store: SqliteStore) -> None:
    async with store.read() as conn:
        await conn.execute(text("SELECT count(*) FROM cases"))


async def run(path: Path, cases: int, runs: int) -> dict[str, Any]:
    url = f"sqlite:///{path}"
    await reset(url)
    store = SqliteStore(url)
    await store.open()
    try:
        seeded = await seed(store, cases)
        counted = await timed(lambda: count_all(store), runs)
        summary = await timed(lambda: store.golden_thread(NOW, timedelta(days=7)), runs)
        breached = CaseFilter(breached=True, limit=50)
        listed = await timed(lambda: store.list_cases(breached, NOW), runs)
        counts = await timed(lambda: store.thread_counts(NOW), runs)
        calls = [
            row("baseline: SELECT count(*) FROM cases", counted),
            row("golden_thread(now, 7d)", summary, min(counted)),
            row("list_cases(breached, -dark, 50)", listed, min(counted)),
            row("thread_counts(now) (/metrics)", counts),
        ]
        return {"cases": cases, "seed_s": round(seeded, 1), "calls": calls}
    finally:
        await store.close()
        await reset(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--path", type=Path, default=Path("/tmp/bench_golden_thread.db"))
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.path, args.cases, args.runs)), indent=1))


if __name__ == "__main__":
    main()
