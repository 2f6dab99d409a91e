"""`groundcontrol simulate` and `groundcontrol export-events`: the command-line side.

Only argparse at import time: `cli.py` builds every parser at start, the simulation
itself is imported when the command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_PROBLEMS = 0, 1


def add_commands(commands: Any) -> list[argparse.ArgumentParser]:
    return [_simulate_parser(commands), _export_parser(commands)]


def _simulate_parser(commands: Any) -> argparse.ArgumentParser:
    simulate: argparse.ArgumentParser = commands.add_parser(
        "simulate", help="replay case events on a virtual clock and report the dark time"
    )
    history = simulate.add_mutually_exclusive_group(required=True)
    history.add_argument("--events", type=Path, metavar="FILE.jsonl", help="events, one a line")
    history.add_argument("--synthetic", type=int, metavar="N", help="make up N cases instead")
    simulate.add_argument("--days", type=int, default=28, help="synthetic: days (default 28)")
    simulate.add_argument("--seed", type=int, default=0, help="synthetic and channels: seed")
    simulate.add_argument("--write-events", type=Path, metavar="FILE", help="save the history")
    simulate.add_argument("--journeys", type=Path, metavar="FILE", help="default: the config's")
    simulate.add_argument("--compare", type=Path, metavar="FILE", help="second journeys file")
    simulate.add_argument("--json", action="store_true", help="print JSON instead of text")
    simulate.add_argument("--html", type=Path, metavar="FILE", help="write a report with charts")
    simulate.add_argument("--strict", action="store_true", help="stop at the first bad line")
    simulate.add_argument(
        "--store",
        choices=("memory", "sqlite"),
        default="memory",
        help="memory (fast, default) or a temporary SQLite file per shard",
    )
    simulate.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes for the memory store (default: 2, or 1 on one CPU)",
    )
    for option, example, meaning in (
        ("--channel-failure", "sms=0.05", "share of attempts that fail for now"),
        ("--undelivered", "sms=0.02", "share of accepted messages reported undelivered"),
        ("--latency", "sms=30s", "from a send to its delivery report"),
    ):
        simulate.add_argument(
            option, action="append", default=[], metavar=example, help=f"{meaning} (repeatable)"
        )
    simulate.set_defaults(command=run_simulate)
    return simulate


def _export_parser(commands: Any) -> argparse.ArgumentParser:
    export: argparse.ArgumentParser = commands.add_parser(
        "export-events", help="write the store's event history as JSONL (simulate --events)"
    )
    export.add_argument("--since", default="30d", help="how far back (default 30d)")
    export.add_argument("--source", help="only this source's events")
    export.add_argument("--output", type=Path, metavar="FILE", help="default: standard output")
    export.set_defaults(command=run_export)
    return export


def run_simulate(args: argparse.Namespace) -> int:
    from groundcontrol.simulation import session

    return session.simulate(args)


def run_export(args: argparse.Namespace) -> int:
    from groundcontrol.simulation import export

    return asyncio.run(export.run(args, sys.stdout))
