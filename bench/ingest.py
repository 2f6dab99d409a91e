"""Benchmark 1: durable ingest against the raw ceiling of a bare aiohttp server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.load import bodies, closed_loop
from bench.procs import Peer, Service, postgres_url

CONCURRENCY = 64


async def run(workdir: Path, events: int, postgres: bool) -> list[dict[str, Any]]:
    """Rows: the raw ceiling, then each store with dispatch on (to an instant chat sink)
    and off (ingest only), each with its ratio to the ceiling."""
    rows: list[dict[str, Any]] = []
    with Peer("raw") as raw, Peer("chat") as sink:
        ceiling = await closed_loop([raw.url], bodies(events, "chat", sink.url), CONCURRENCY)
        rows.append({"setup": "bare aiohttp, parse JSON, 202", **ceiling.summary()})
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
                    result = await closed_loop(
                        [service.url], bodies(events, "chat", sink.url), CONCURRENCY
                    )
                finally:
                    service.stop()
                mode = "ingest only" if ingest_only else "dispatch on, chat sink"
                summary = result.summary()
                summary["ratio"] = round(result.rate / ceiling.rate, 3)
                rows.append({"setup": f"{label}, {mode}", **summary})
    return rows


async def _reset(url: str) -> None:
    from bench.stores import reset

    await reset(url)
