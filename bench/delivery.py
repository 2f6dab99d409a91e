"""Benchmarks 3 and 4: delivery throughput through the whole pipeline (claim, render,
send, record) to a chat sink answering after 20 ms, next to Apprise; and e-mail to a
local aiosmtpd next to a bare aiosmtplib client on as many reused connections.

Events are pre-loaded by the ingest-only launcher, then the full service starts and
drains them. Rate = (N - 1) / (last arrival - first arrival) at the peer, the same
measure for every row.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.cpu import cpu_seconds, load_1min
from bench.e2e import PEER_KIND, channel_env
from bench.load import bodies, closed_loop
from bench.procs import REPO, Peer, Service
from bench.stores import reset

SINK_DELAY = 0.02


def _rate(stats: dict[str, Any], count: int) -> float:
    span = (stats["last"] or 0) - (stats["first"] or 0)
    return (count - 1) / span if span > 0 else 0.0


async def preload(
    url: str, workdir: Path, channel: str, peer: Peer, count: int, env: dict[str, str]
) -> None:
    loader = Service(url, workdir / "preload", env=env, ingest_only=True)
    await loader.start()
    try:
        result = await closed_loop([loader.url], bodies(count, channel, peer.url), 64)
    finally:
        loader.stop()
    if result.accepted != count:
        raise RuntimeError(f"pre-load accepted {result.accepted} of {count}")


async def drain(
    url: str, workdir: Path, peer: Peer, count: int, env: dict[str, str], instances: int = 1
) -> dict[str, Any]:
    """Start the services on the pre-loaded store and wait for `count` arrivals. CPU per
    message is the services' CPU time from ready to the last arrival over the messages
    that arrived in that time (start-up's imports and migrations left out)."""
    services = [Service(url, workdir / f"drain{i}", env=env) for i in range(instances)]
    await asyncio.gather(*(s.start() for s in services))
    try:
        at_ready = (await peer.stats())["count"]
        cpu_at_ready = sum(cpu_seconds(s.pid) for s in services)
        stats = await peer.wait_for(count, within=600)
        cpu = sum(cpu_seconds(s.pid) for s in services) - cpu_at_ready
    finally:
        for service in services:
            service.stop()
    sent = stats["count"] - at_ready
    return {
        "delivered": stats["count"],
        "per_s": round(_rate(stats, stats["count"]), 1),
        "cpu_ms_per_message": round(cpu * 1000 / sent, 3) if sent else None,
        "load": load_1min(),
    }


async def groundcontrol(
    workdir: Path, url: str, channel: str, count: int, delay: float = 0.0
) -> dict[str, Any]:
    await reset(url)
    with Peer(PEER_KIND[channel], delay=delay) as peer:
        env = channel_env(channel, peer)
        await preload(url, workdir, channel, peer, count, env)
        return await drain(url, workdir, peer, count, env)


async def apprise_row(mode: str, count: int) -> dict[str, Any]:
    with Peer("chat", delay=SINK_DELAY) as sink:
        command = [
            sys.executable,
            "-m",
            "bench.apprise_load",
            f"json://127.0.0.1:{sink.port}/hook",
            str(count),
            mode,
        ]
        await asyncio.to_thread(subprocess.run, command, cwd=REPO, check=True, capture_output=True)
        stats = await sink.wait_for(count, within=10)
    return {
        "delivered": stats["count"],
        "per_s": round(_rate(stats, stats["count"]), 1),
        "load": load_1min(),
    }


async def run_chat(
    workdir: Path, count: int, apprise_count: int, burst: int
) -> list[dict[str, Any]]:
    """Drains of `count` and of a `burst` (a back office closing that many cases at
    once: every claim then reads from a backlog that large), beside Apprise."""
    url = f"sqlite:///{workdir}/delivery/gc.db"
    ours = await groundcontrol(workdir / "delivery", url, "chat", count, SINK_DELAY)
    burst_url = f"sqlite:///{workdir}/burst/gc.db"
    drained = await groundcontrol(workdir / "burst", burst_url, "chat", burst, SINK_DELAY)
    sequential = await apprise_row("sequential", apprise_count)
    concurrent = await apprise_row("async", apprise_count)
    rows = [
        {"sender": f"Apprise {_apprise_version()} sequential (notify)", **sequential},
        {"sender": f"Apprise {_apprise_version()} async_notify, 100 in flight", **concurrent},
        {"sender": "Ground Control, 1 process, SQLite", **ours},
        {"sender": f"Ground Control, 1 process, SQLite, a burst of {burst:,}", **drained},
    ]
    for row in rows:
        row["x_apprise_async"] = (
            round(row["per_s"] / concurrent["per_s"], 2) if concurrent["per_s"] else None
        )
    return rows


async def run_email(workdir: Path, count: int) -> list[dict[str, Any]]:
    url = f"sqlite:///{workdir}/email/gc.db"
    ours = await groundcontrol(workdir / "email", url, "email", count)
    with Peer("smtp") as peer:
        command = [sys.executable, "-m", "bench.smtp_load", str(peer.port), str(count)]
        await asyncio.to_thread(subprocess.run, command, cwd=REPO, check=True, capture_output=True)
        stats = await peer.wait_for(count, within=10)
    bare = {
        "delivered": stats["count"],
        "per_s": round(_rate(stats, stats["count"]), 1),
        "load": load_1min(),
    }
    rows = [
        {"sender": "bare aiosmtplib, 4 reused connections", **bare},
        {"sender": "Ground Control, 1 process, SQLite", **ours},
    ]
    for row in rows:
        row["ratio"] = round(row["per_s"] / bare["per_s"], 3) if bare["per_s"] else None
    return rows


def dumps(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2)


def _apprise_version() -> str:
    from importlib.metadata import version

    return version("apprise")
