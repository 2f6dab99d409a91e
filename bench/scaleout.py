"""Benchmark 6: one, two and three instances sharing one PostgreSQL schema.

Delivery: events pre-loaded by one ingest-only instance, then N full instances drain
them to the 20 ms chat sink. Ingest: with those instances running, a closed loop at
concurrency 64 spread over their ports.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench.delivery import SINK_DELAY, _rate, preload
from bench.ingest import CONCURRENCY
from bench.load import bodies, closed_loop
from bench.procs import Peer, Service, postgres_url
from bench.stores import reset


async def run(workdir: Path, count: int, ingest_events: int) -> list[dict[str, Any]]:
    rows = []
    for instances in (1, 2, 3):
        rows.append(await _one(workdir / f"scaleout{instances}", instances, count, ingest_events))
    base_delivery, base_ingest = rows[0]["delivery_per_s"], rows[0]["ingest_per_s"]
    for row in rows:
        row["delivery_x"] = (
            round(row["delivery_per_s"] / base_delivery, 2) if base_delivery else None
        )
        row["ingest_x"] = round(row["ingest_per_s"] / base_ingest, 2) if base_ingest else None
    return rows


async def _one(workdir: Path, instances: int, count: int, ingest_events: int) -> dict[str, Any]:
    url = postgres_url(f"bench_scaleout{instances}")
    await reset(url)
    with Peer("chat", delay=SINK_DELAY) as sink:
        await preload(url, workdir, "chat", sink, count, {})
        services = [Service(url, workdir / f"i{i}") for i in range(instances)]
        await asyncio.gather(*(s.start() for s in services))
        try:
            drained = await sink.wait_for(count, within=600)
            ingest = await closed_loop(
                [s.url for s in services], bodies(ingest_events, "chat", sink.url), CONCURRENCY
            )
        finally:
            for service in services:
                service.stop()
    return {
        "instances": instances,
        "delivery_per_s": round(_rate(drained, drained["count"]), 1),
        "ingest_per_s": round(ingest.rate, 1),
        "ingest_p99_ms": ingest.summary()["p99_ms"],
    }
