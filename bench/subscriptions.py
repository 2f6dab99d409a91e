"""Benchmark 7: events consumed from each broker, beside webhook ingest in the same run.

Each broker gets `events` messages published before the service starts (its own
queue, stream or subject, as tests/peers/brokers.py makes them); the service (ingest
only, SQLite) consumes them through its `[[subscriptions]]` entry, and the rate is
counted from the first message consumed to the last, by `/metrics`. The webhook rows
are the closed-loop ingest of benchmark 1 on the same store, measured in this run
before and after the brokers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
from tests.peers.brokers import TRANSPORTS, BrokerPeer, peer_for

from bench.load import bodies, closed_loop
from bench.procs import Service

CONCURRENCY = 64
PUBLISHERS = 64  # concurrent publishes while filling the queue (not timed)
NAME = "bench"
_CONSUMED = re.compile(rf'groundcontrol_subscription_consumed_total{{subscription="{NAME}"}} (\S+)')


async def run(workdir: Path, events: int) -> list[dict[str, Any]]:
    """The webhook before and after the brokers (the machine drifts); x is over their mean."""
    before = await _webhook(workdir, events, "before")
    rows = []
    for transport in TRANSPORTS:
        async with peer_for(transport) as broker:
            rows.append(await _consume(workdir, broker, events))
    after = await _webhook(workdir, events, "after")
    baseline = (before["events_per_s"] + after["events_per_s"]) / 2
    for row in rows:
        row["x_webhook"] = round(row["events_per_s"] / baseline, 2)
    return [before, *rows, after]


async def _webhook(workdir: Path, events: int, when: str) -> dict[str, Any]:
    name = f"sub_webhook_{when}"
    service = Service(f"sqlite:///{workdir}/{name}.db", workdir / name, ingest_only=True)
    await service.start()
    try:
        await closed_loop([service.url], bodies(200, "email", "http://127.0.0.1:9"), 8)  # warm-up
        result = await closed_loop(
            [service.url], bodies(events, "email", "http://127.0.0.1:9"), CONCURRENCY
        )
    finally:
        service.stop()
    way_in = f"webhook POST /v1/events (concurrency 64), {when}"
    return {"way in": way_in, **_row(result.rate, events)}


async def _consume(workdir: Path, broker: BrokerPeer, events: int) -> dict[str, Any]:
    await _fill(broker, events)
    name = f"sub_{broker.transport}"
    subscription = broker.subscription(NAME, source="bench")
    service = Service(
        f"sqlite:///{workdir}/{name}.db",
        workdir / name,
        ingest_only=True,
        env={"GC_SUBSCRIPTIONS": json.dumps([subscription])},
    )
    await service.start()
    try:
        seconds, counted = await _time_consumption(service.url, events)
    finally:
        service.stop()
    return {
        "way in": f"{broker.transport} subscription (prefetch 100)",
        **_row(counted / seconds, events),
    }


async def _fill(broker: BrokerPeer, events: int) -> None:
    payloads = iter(body for _, body in bodies(events, "email", "http://127.0.0.1:9"))

    async def publisher() -> None:
        for body in payloads:
            await broker.publish(body)

    await asyncio.gather(*(publisher() for _ in range(PUBLISHERS)))


async def _time_consumption(url: str, events: int) -> tuple[float, float]:
    """Seconds from the first consumed message seen to the last, and how many that was."""
    async with aiohttp.ClientSession() as session:
        first = await _consumed(session, url)
        started = time.perf_counter()
        while first == 0:
            first = await _consumed(session, url)
            started = time.perf_counter()
        done = first
        while done < events:
            await asyncio.sleep(0.01)
            done = await _consumed(session, url)
        seconds = time.perf_counter() - started
    if done - first < events / 2:
        raise RuntimeError("most messages were consumed before the first look: use more events")
    return seconds, done - first


async def _consumed(session: aiohttp.ClientSession, url: str) -> float:
    async with session.get(f"{url}/metrics") as response:
        found = _CONSUMED.search(await response.text())
    return float(found[1]) if found else 0.0


def _row(rate: float, events: int) -> dict[str, Any]:
    return {"events_per_s": round(rate, 1), "events": events}
