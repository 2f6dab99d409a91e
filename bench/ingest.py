"""Benchmark 1: durable ingest against two ceilings measured in the same run: a bare
aiohttp server (parse the JSON, answer 202) and the same server group-committing each
event to SQLite with synchronous=FULL before its 202 (the durable ceiling)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter, load_1min
from bench.load import LoadResult, bodies, closed_loop
from bench.procs import Peer, Service, postgres_url

CONCURRENCY = 64
BARE = "bare aiohttp, parse JSON, 202"
DURABLE = "bare aiohttp + one writer group-committing to SQLite (synchronous=FULL)"
HISTORY = 1_000_000  # events already stored, for the row that shows ingest does not slow with it


async def run(workdir: Path, events: int, postgres: bool) -> list[dict[str, Any]]:
    """Rows: the two ceilings, then each store with dispatch on (to an instant chat sink)
    and off (ingest only); each with its service CPU per event and its ratios to both
    ceilings."""
    rows: list[dict[str, Any]] = []
    with Peer("chat") as sink:
        for setup, kind in ((BARE, "raw"), (DURABLE, "durable")):
            with Peer(kind) as ceiling:
                await closed_loop([ceiling.url], bodies(200, "chat", sink.url), 8)  # warm-up
                rows.append(await _measure(setup, ceiling.url, ceiling.pid, events, sink))
        stores: list[tuple[str, Callable[[str], str]]] = [
            ("SQLite", lambda name: f"sqlite:///{workdir}/{name}.db")
        ]
        if postgres:
            stores.append(("PostgreSQL", lambda name: postgres_url(f"bench_{name}")))
        for label, url_for in stores:
            for ingest_only in (False, True):
                name = f"ingest_{label.lower()}_{'only' if ingest_only else 'dispatch'}"
                await _reset(url_for(name))
                service = Service(url_for(name), workdir / name, ingest_only=ingest_only)
                await service.start()
                try:
                    await closed_loop([service.url], bodies(200, "chat", sink.url), 8)  # warm-up
                    mode = "ingest only" if ingest_only else "dispatch on, chat sink"
                    rows.append(
                        await _measure(f"{label}, {mode}", service.url, service.pid, events, sink)
                    )
                finally:
                    service.stop()
        rows.append(
            await _with_history(workdir, events, sink, HISTORY if events > 1000 else 50_000)
        )
    bare, durable = rows[0]["events_per_s"], rows[1]["events_per_s"]
    for row in rows:
        row["x_bare"] = round(row["events_per_s"] / bare, 3) if bare else None
        row["x_durable"] = round(row["events_per_s"] / durable, 3) if durable else None
    return rows


async def _with_history(workdir: Path, events: int, sink: Peer, history: int) -> dict[str, Any]:
    """SQLite, ingest only, on a store that already holds `history` events: every batch
    reads the stored events by key, so that read must stay an index search."""
    from bench.stores import seed_events

    url = f"sqlite:///{workdir}/ingest_history.db"
    await _reset(url)
    service = Service(url, workdir / "ingest_history", ingest_only=True)
    await service.start()  # migrates the empty store
    service.stop()
    seed_events(workdir / "ingest_history.db", history)
    await service.start()
    try:
        await closed_loop([service.url], bodies(200, "chat", sink.url), 8)  # warm-up
        setup = f"SQLite, ingest only, {history:,} events already stored"
        return await _measure(setup, service.url, service.pid, events, sink)
    finally:
        service.stop()


async def _measure(setup: str, url: str, pid: int, events: int, sink: Peer) -> dict[str, Any]:
    with CpuMeter(pid) as cpu:
        result: LoadResult = await closed_loop([url], bodies(events, "chat", sink.url), CONCURRENCY)
    return {
        "setup": setup,
        **result.summary(),
        "cpu_ms_per_event": cpu.ms_per(result.accepted),
        "load": load_1min(),
    }


async def _reset(url: str) -> None:
    from bench.stores import reset

    await reset(url)
