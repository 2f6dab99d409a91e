"""Load generators: a closed loop at fixed concurrency and an open loop at a fixed rate.

Bodies are encoded before the clock starts, so the generator spends its time on I/O.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.procs import SOURCE_TOKEN

HEADERS = {"Authorization": f"Bearer {SOURCE_TOKEN}", "Content-Type": "application/json"}
_serial = itertools.count()


def event(channel: str, peer_url: str, status: str = "received") -> tuple[str, bytes]:
    """A fresh case's event for one customer reachable on `channel`; (case id, body)."""
    n = next(_serial)
    case_id = f"bench-{time.time_ns() // 1000 % 10**12}{n:07d}"
    customer: dict[str, Any] = {
        "id": f"cust-{n % 1000}",
        "name": "Ada Lovelace",
        "locale": "en",
        "timezone": "UTC",
        "channels": [channel],
        "email": "ada@example.com",
        "phone": "+31612345678",
        "chat_webhook": f"{peer_url}/hook",
    }
    body = {
        "id": f"evt-{case_id}",
        "case_id": case_id,
        "status": status,
        "occurred_at": "2026-11-22T10:00:00Z",
        "customer": customer,
        "data": {"case_title": "Address change", "sent_at": time.time()},
    }
    return case_id, json.dumps(body).encode()


def bodies(count: int, channel: str, peer_url: str) -> list[tuple[str, bytes]]:
    return [event(channel, peer_url) for _ in range(count)]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass(frozen=True)
class LoadResult:
    accepted: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "events_per_s": round(self.rate, 1),
            "p50_ms": round(percentile(self.latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(self.latencies, 99) * 1000, 2),
            "accepted": self.accepted,
            "errors": self.errors,
        }


async def closed_loop(
    urls: Sequence[str], payloads: Sequence[tuple[str, bytes]], concurrency: int
) -> LoadResult:
    """Post every payload with `concurrency` workers (spread over `urls`); 202 counts."""
    queue = iter(payloads)
    latencies: list[float] = []
    errors = 0

    async def worker(session: aiohttp.ClientSession, url: str) -> None:
        nonlocal errors
        for _, body in queue:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=HEADERS) as response:
                await response.read()
                if response.status == 202:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(
            *(worker(session, f"{urls[i % len(urls)]}/v1/events") for i in range(concurrency))
        )
        seconds = time.perf_counter() - started
    return LoadResult(len(latencies), errors, seconds, latencies)


async def open_loop(
    url: str, payloads: Sequence[tuple[str, bytes]], rate: float
) -> tuple[dict[str, float], LoadResult]:
    """Post payload i at start + i/rate whatever the answers; send times by case id."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    errors = 0

    async def post(session: aiohttp.ClientSession, case_id: str, body: bytes) -> None:
        nonlocal errors
        sent[case_id] = time.time()
        started = time.perf_counter()
        async with session.post(f"{url}/v1/events", data=body, headers=HEADERS) as response:
            await response.read()
            if response.status == 202:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = []
        start = time.perf_counter()
        for i, (case_id, body) in enumerate(payloads):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(session, case_id, body)))
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - start
    return sent, LoadResult(len(latencies), errors, seconds, latencies)
