"""Journey simulation speed: `groundcontrol simulate --synthetic N --days 28` as a user
runs it (a fresh process: imports, generation, validation, replay, report), timed from
outside, with one worker and with two; and, as the baseline that shows why the memory
store is the default, the same replay of a smaller history on temporary SQLite files.

CPU seconds are the process's and its workers' (resource.RUSAGE_CHILDREN), so a busy
machine shows up as wall time above CPU time rather than as a slower figure.
"""

from __future__ import annotations

import json
import resource
import subprocess
import time
from typing import Any

from bench.procs import REPO

JOURNEYS = REPO / "config" / "journeys.toml"
GROUNDCONTROL = REPO / ".venv" / "bin" / "groundcontrol"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def simulate(cases: int, days: int, *extra: str) -> dict[str, Any]:
    """Run the command once; its wall and CPU time, and what it reported."""
    argv = [str(GROUNDCONTROL), "simulate", "--synthetic", str(cases), "--days", str(days)]
    argv += ["--seed", "1", "--journeys", str(JOURNEYS), "--json", *extra]
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=REPO)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    report = json.loads(done.stdout)
    return {
        "cases": cases,
        "days": days,
        "events": sum(report["events"].values()),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "cases_per_s": round(cases / wall),
        "messages": round(report["overall"]["messages"]["mean"] * cases),
    }


def run(cases: int, baseline_cases: int) -> list[dict[str, Any]]:
    return [
        {"store": "memory", "workers": 1} | simulate(cases, 28, "--workers", "1"),
        {"store": "memory", "workers": 2} | simulate(cases, 28, "--workers", "2"),
        {"store": "memory (baseline size)", "workers": 1}
        | simulate(baseline_cases, 28, "--workers", "1"),
        {"store": "temporary SQLite (baseline)", "workers": 1}
        | simulate(baseline_cases, 28, "--store", "sqlite"),
    ]
