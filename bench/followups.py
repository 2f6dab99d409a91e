"""Benchmark 5: one million pending follow-ups on SQLite.

Setup writes the rows straight into the store's tables (after the real migrations),
because going through ingest would take hours; the setup time is reported. Then:
time to /readyz on a first start and after a restart, p99 lateness of a slice of
follow-ups made due at known times while ingest load runs, and the peak RSS.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite

from bench.load import bodies, open_loop, percentile
from bench.procs import Peer, Service
from bench.stores import reset
from groundcontrol.store import open_store
from groundcontrol.store.sql.schema import cases, customers, follow_ups

_DIALECT = sqlite.dialect()
SLICE = 500
SLICE_WINDOW = 10.0  # seconds over which the slice falls due
# events/s of ingest while a slice fires; 500 is about what one process takes in with
# its dispatcher on (section 1), the highest rate it sustains
LOAD_RATES = (100.0, 300.0, 500.0)


def _insert(db: sqlite3.Connection, table: Table, rows: Iterator[dict[str, Any]]) -> None:
    """Insert with SQLAlchemy's own bind processing, so values read back exactly. Columns
    the rows leave out (the autoincremented id, columns with a server default that later
    migrations added) get the table's default."""
    first = next(rows, None)
    if first is None:
        return
    columns = [c for c in table.c if c.name in first]
    procs = [c.type.dialect_impl(_DIALECT).bind_processor(_DIALECT) for c in columns]
    names = ", ".join(c.name for c in columns)
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"

    def encode(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            p(row.get(c.name)) if p else row.get(c.name)
            for c, p in zip(columns, procs, strict=True)
        )

    db.executemany(sql, (encode(row) for row in itertools.chain([first], rows)))


def _customer(customer_id: str, sink_url: str, now: datetime) -> dict[str, Any]:
    return {
        "id": customer_id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+31612345678",
        "chat_webhook": f"{sink_url}/hook",
        "locale": "en",
        "timezone": "UTC",
        "channels": ["chat"],
        "opted_out": [],
        "created_at": now,
        "updated_at": now,
    }


def _follow_up(case_id: str, customer_id: str, due_at: datetime, now: datetime) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "customer_id": customer_id,
        "status": "received",
        "template": "still_working",
        "priority": 2,
        "due_at": due_at,
        "every_seconds": 259200.0,
        "max_count": 3,
        "fired": 0,
        "state": "pending",
        "created_at": now,
        "updated_at": now,
    }


def _case(case_id: str, customer_id: str, now: datetime) -> dict[str, Any]:
    return {
        "id": case_id,
        "customer_id": customer_id,
        "status": "received",
        "previous_status": None,
        "status_at": now,
        "sequence": None,
        "priority": 2,
        "data": {"case_title": "Address change"},
        "last_event_pk": None,
        "last_message_at": None,
        "created_at": now,
        "updated_at": now,
    }


def bulk_load(path: Path, count: int, sink_url: str) -> None:
    now = datetime.now(UTC)
    later = now + timedelta(days=30)
    with sqlite3.connect(path) as db:
        _insert(
            db, customers, iter([_customer(c, sink_url, now) for c in ("cust-bulk", "cust-slice")])
        )
        _insert(
            db,
            follow_ups,
            (
                _follow_up(f"bulk-{i}", "cust-bulk", later + timedelta(seconds=i), now)
                for i in range(count)
            ),
        )


def add_slice(path: Path, first_case: int, start: float) -> dict[str, float]:
    """SLICE follow-ups due evenly over SLICE_WINDOW seconds from `start` (epoch)."""
    now = datetime.now(UTC)
    due = {f"bench-{first_case + i}": start + i * SLICE_WINDOW / SLICE for i in range(SLICE)}
    with sqlite3.connect(path, timeout=30) as db:
        _insert(db, cases, (_case(c, "cust-slice", now) for c in due))
        _insert(
            db,
            follow_ups,
            (
                _follow_up(c, "cust-slice", datetime.fromtimestamp(t, UTC), now)
                for c, t in due.items()
            ),
        )
    return due


async def run(workdir: Path, count: int) -> dict[str, Any]:
    path = workdir / "followups" / "gc.db"
    url = f"sqlite:///{path}"
    await reset(url)
    store = await open_store(url)
    await store.close()
    with Peer("chat") as sink:
        started = time.perf_counter()
        await asyncio.to_thread(bulk_load, path, count, sink.url)
        setup = time.perf_counter() - started
        first = Service(url, workdir / "followups")
        await first.start(within=300)
        first.stop()
        service = Service(url, workdir / "followups")
        await service.start(within=300)
        try:
            lateness = {}
            for n, rate in enumerate(LOAD_RATES):
                lateness[rate] = await _fire_slice(
                    path, sink, service, rate, 9_000_000_000 + n * 10**8
                )
            rss = service.peak_rss_mb()
        finally:
            service.stop()
    row: dict[str, Any] = {
        "pending": count,
        "setup_s": round(setup, 1),
        "first_start_ready_s": round(first.ready_after, 2),
        "restart_ready_s": round(service.ready_after, 2),
    }
    for rate, (late, achieved) in lateness.items():
        row[f"p50_late_ms_at_{rate:g}_per_s"] = round(percentile(late, 50) * 1000, 1)
        row[f"p99_late_ms_at_{rate:g}_per_s"] = round(percentile(late, 99) * 1000, 1)
        row[f"ingest_achieved_at_{rate:g}_per_s"] = round(achieved, 1)
    row["peak_rss_mb"] = round(rss, 1)
    return row


async def _fire_slice(
    path: Path, sink: Peer, service: Service, rate: float, first_case: int
) -> tuple[list[float], float]:
    """Make a slice due while ingest runs at `rate`: (lateness of each, ingest achieved)."""
    before = (await sink.stats())["count"]
    due = await asyncio.to_thread(add_slice, path, first_case, time.time() + 3)
    load = bodies(int(rate * (SLICE_WINDOW + 4)), "chat", sink.url)
    _, ingest = await open_loop(service.url, load, rate)
    await sink.wait_for(before + SLICE + len(load), within=180)
    arrived = await sink.arrivals()
    return [arrived[c] - t for c, t in due.items() if c in arrived], ingest.rate
