"""Benchmark 7: a poison sender costs only itself.

One service, one run: valid events at a fixed rate alone, then the same rate with a
poison sender beside it (the issue 17 probe: 21 poison requests/s among 100 valid/s).
Two kinds of poison: NUL in `status` (refused at the edge with a 422, before the
group commit) and an event a trigger in the store refuses (reaches the group
commit, which retries the failed batch with each caller under its own savepoint). The
row reports the valid events' latency.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from bench.load import event, open_loop
from bench.procs import Peer, Service

VALID_RATE, POISON_RATE = 100.0, 21.0
TRIGGER = """
CREATE TRIGGER IF NOT EXISTS poison BEFORE INSERT ON events
WHEN NEW.case_id LIKE 'POISON%' BEGIN SELECT RAISE(ABORT, 'poison event'); END
"""


def poison(kind: str, count: int, peer_url: str) -> list[tuple[str, bytes]]:
    """Poison bodies: `nul` (NUL in the status) or `store` (refused by the trigger)."""
    bodies = []
    for n in range(count):
        case_id, body = event("chat", peer_url)
        payload: dict[str, Any] = json.loads(body)
        if kind == "nul":
            payload["status"] = "received\x00"
        else:
            payload["case_id"] = payload["id"] = f"POISON-{case_id}-{n}"
        bodies.append((payload["case_id"], json.dumps(payload).encode()))
    return bodies


async def run(
    workdir: Path, seconds: float, valid_rate: float = VALID_RATE, poison_rate: float = POISON_RATE
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    valid_count, poison_count = int(valid_rate * seconds), int(poison_rate * seconds)
    with Peer("chat") as sink:
        database = workdir / "poison.db"
        service = await Service(f"sqlite:///{database}", workdir / "poison").start()
        try:
            with sqlite3.connect(database) as db:
                db.execute(TRIGGER)
            for kind in ("none", "nul", "store"):
                valid = [event("chat", sink.url) for _ in range(valid_count)]
                loops = [open_loop(service.url, valid, valid_rate)]
                if kind != "none":
                    loops.append(
                        open_loop(service.url, poison(kind, poison_count, sink.url), poison_rate)
                    )
                results = await asyncio.gather(*loops)
                summary = results[0][1].summary()
                rows.append(
                    {
                        "poison sender": {
                            "none": "none",
                            "nul": "NUL in status (422 at the edge)",
                            "store": "refused by the store (isolated)",
                        }[kind],
                        "valid_per_s": valid_rate,
                        "poison_per_s": 0.0 if kind == "none" else poison_rate,
                        "valid_p50_ms": summary["p50_ms"],
                        "valid_p99_ms": summary["p99_ms"],
                        "valid_accepted": summary["accepted"],
                        "valid_errors": summary["errors"],
                        "poison_refused": results[1][1].errors if kind != "none" else 0,
                    }
                )
        finally:
            service.stop()
    return rows
