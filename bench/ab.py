"""`python -m bench.ab BEFORE AFTER [--events N] [--rounds R]`: an A/B of two checkouts.

Runs the Ground Control rows of `python -m bench --only ingest delivery --no-postgres`
(`bench.ingest.run`, `bench.delivery.groundcontrol`; no Apprise rows) on two source
trees (say `git archive` of two commits), alternately, in one session, and prints one
JSON line per run and the medians. Each tree runs its own `bench/` and `src/`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_ONE_RUN = r"""
import asyncio, json, sys, tempfile, pathlib
from bench import delivery, ingest
n = int(sys.argv[1])
work = pathlib.Path(tempfile.mkdtemp(prefix="gc-ab-"))
rows = asyncio.run(ingest.run(work, n, False))
url = f"sqlite:///{work}/delivery/gc.db"
sent = asyncio.run(delivery.groundcontrol(work / "delivery", url, "chat", n, delivery.SINK_DELAY))
print(json.dumps({"ingest": rows, "delivery": sent}))
"""


def run_once(tree: Path, events: int) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=f"{tree / 'src'}{os.pathsep}{tree}")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _ONE_RUN, str(events)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = round(time.perf_counter() - started)
    return result


def figures(result: dict[str, Any]) -> dict[str, float]:
    rows = {row["setup"]: row for row in result["ingest"]}
    dispatch, only = rows["SQLite, dispatch on, chat sink"], rows["SQLite, ingest only"]
    return {
        "ceiling": rows["bare aiohttp, parse JSON, 202"]["events_per_s"],
        "ingest_dispatch": dispatch["events_per_s"],
        "ingest_dispatch_ratio": dispatch["x_bare"],
        "ingest_only": only["events_per_s"],
        "ingest_only_ratio": only["x_bare"],
        "ingest_only_x_durable": only["x_durable"],
        "ingest_only_cpu_ms": only["cpu_ms_per_event"],
        "delivery": result["delivery"]["per_s"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    trees = {"before": args.before, "after": args.after}
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for number in range(args.rounds):
        # Alternate who goes first, so a drift in the machine's load hits both sides.
        order = ("before", "after") if number % 2 == 0 else ("after", "before")
        for side in order:
            result = run_once(trees[side], args.events)
            runs[side].append(figures(result))
            print(json.dumps({"side": side, **result}), flush=True)
    for side, found in runs.items():
        medians = {k: statistics.median(r[k] for r in found) for k in found[0]}
        print(side, json.dumps(medians))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
