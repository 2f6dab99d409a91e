"""`python -m bench [--quick] [--only NAME ...]`: run the benchmarks, write
bench/results.json, docs/benchmarks.md and docs/benchmarks/*.png.

Needs PostgreSQL at GC_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1/test)
for the PostgreSQL rows; --no-postgres skips them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import (
    delivery,
    e2e,
    followups,
    golden_thread,
    ingest,
    poison,
    report,
    scaleout,
    simulation,
    subscriptions,
    together,
)
from bench.procs import REPO

RESULTS = REPO / "bench" / "results.json"

# (full, quick) sizes
SIZES = {
    "ingest_events": (4000, 1000),
    "e2e_seconds": (8.0, 3.0),
    "delivery_events": (4000, 600),
    "burst_events": (100_000, 3000),
    "together_events": (6000, 600),
    "apprise_events": (500, 100),
    "email_events": (2000, 400),
    "followups": (1_000_000, 20_000),
    "scaleout_events": (3000, 400),
    "subscription_events": (4000, 1000),
    "simulation_cases": (10_000, 1000),
    "simulation_baseline_cases": (1000, 200),
    "poison_seconds": (20.0, 5.0),
    "golden_thread_cases": (1_000_000, 20_000),
    "golden_thread_seconds": (60.0, 5.0),
}
NAMES = [
    "ingest",
    "e2e",
    "delivery",
    "together",
    "email",
    "followups",
    "scaleout",
    "subscriptions",
    "simulation",
    "poison",
    "golden_thread",
]


async def _run(name: str, workdir: Path, size: dict[str, Any], postgres: bool) -> Any:
    runs: dict[str, Callable[[], Awaitable[Any]]] = {
        "ingest": lambda: ingest.run(workdir, size["ingest_events"], postgres),
        "e2e": lambda: e2e.run(workdir, size["e2e_seconds"], [e2e.RATE, 100.0, 50.0]),
        "delivery": lambda: delivery.run_chat(
            workdir, size["delivery_events"], size["apprise_events"], size["burst_events"]
        ),
        "together": lambda: together.run(workdir, size["together_events"], size["apprise_events"]),
        "email": lambda: delivery.run_email(workdir, size["email_events"]),
        "followups": lambda: followups.run(workdir, size["followups"]),
        "simulation": lambda: _simulation(
            size["simulation_cases"], size["simulation_baseline_cases"]
        ),
        "scaleout": lambda: _scaleout(workdir, size["scaleout_events"], postgres),
        "subscriptions": lambda: subscriptions.run(workdir, size["subscription_events"]),
        "poison": lambda: poison.run(workdir, size["poison_seconds"]),
        "golden_thread": lambda: _golden_thread(
            size["golden_thread_cases"], size["golden_thread_seconds"], postgres
        ),
    }
    return await runs[name]()


async def _simulation(cases: int, baseline_cases: int) -> Any:
    return simulation.run(cases, baseline_cases)  # its own processes; nothing to await


async def _golden_thread(cases: int, seconds: float, postgres: bool) -> Any:
    return await golden_thread.run_for_bench(cases, seconds) if postgres else None


async def _scaleout(workdir: Path, events: int, postgres: bool) -> Any:
    return await scaleout.run(workdir, events, events) if postgres else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", nargs="*", choices=NAMES, default=NAMES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the docs from results.json"
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if not args.report_only:
        size = {key: pair[1 if args.quick else 0] for key, pair in SIZES.items()}
        workdir = Path(tempfile.mkdtemp(prefix="gc-bench-"))
        try:
            for name in args.only:
                started = time.perf_counter()
                print(f"== {name}", flush=True)
                results[name] = asyncio.run(_run(name, workdir, size, not args.no_postgres))
                print(
                    json.dumps(results[name], indent=1),
                    f"({time.perf_counter() - started:.0f}s)",
                    flush=True,
                )
                # Each benchmark keeps the machine it ran on: `--only` runs one later.
                results.setdefault("runs", {})[name] = report.machine(args.quick)
                if set(args.only) == set(NAMES):
                    results["meta"] = report.machine(args.quick)
                RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    report.write(results)
    return 0
