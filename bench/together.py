"""Benchmark 3b: ingest and delivery together in one process, as in production.

A closed loop posts N events (concurrency 64) to `groundcontrol serve` while its
dispatcher sends each event's chat message to a sink answering after 20 ms. Delivered
per second is measured at the sink, (count - 1) / (last arrival - first arrival); beside
it, Apprise `async_notify` (100 in flight) to the same kind of sink in the same run.
Service CPU per notification is its process CPU time over the whole run (ingest and
delivery) divided by the notifications delivered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter, load_1min
from bench.delivery import SINK_DELAY, _apprise_version, _rate, apprise_row
from bench.ingest import CONCURRENCY
from bench.load import bodies, closed_loop
from bench.procs import Peer, Service
from bench.stores import reset


async def run(workdir: Path, events: int, apprise_events: int) -> list[dict[str, Any]]:
    ours = await groundcontrol(workdir / "together", events)
    apprise = await apprise_row("async", apprise_events)
    rows = [
        {
            "sender": f"Apprise {_apprise_version()} async_notify, 100 in flight",
            **apprise,
            "load": load_1min(),
        },
        ours,
    ]
    for row in rows:
        row["x_apprise_async"] = round(row["per_s"] / apprise["per_s"], 2) if apprise else None
    return rows


async def groundcontrol(workdir: Path, events: int) -> dict[str, Any]:
    url = f"sqlite:///{workdir}/gc.db"
    await reset(url)
    with Peer("chat", delay=SINK_DELAY) as sink:
        service = Service(url, workdir)
        await service.start()
        try:
            with CpuMeter(service.pid) as cpu:
                ingest = await closed_loop(
                    [service.url], bodies(events, "chat", sink.url), CONCURRENCY
                )
                stats = await sink.wait_for(events, within=600)
        finally:
            service.stop()
    return {
        "sender": "Ground Control, 1 process, SQLite: ingest and delivery together",
        "delivered": stats["count"],
        "per_s": round(_rate(stats, stats["count"]), 1),
        "accepted_per_s": round(ingest.rate, 1),
        "cpu_ms_per_notification": cpu.ms_per(stats["count"]),
        "load": load_1min(),
    }
