"""One `groundcontrol simulate` run: read or make the history, replay it with one or two
journeys files, print the report and write the HTML one."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timedelta
from pathlib import Path

from groundcontrol.domain import Event
from groundcontrol.planning.journeys import load_journeys
from groundcontrol.settings import Settings, load_settings
from groundcontrol.simulation.channels import ChannelModel
from groundcontrol.simulation.events_file import History, event_line, parse_lines, read_events
from groundcontrol.simulation.parallel import replay_in_processes
from groundcontrol.simulation.report_html import html_report
from groundcontrol.simulation.report_text import compare_report, json_report, text_report
from groundcontrol.simulation.runner import Scenario, quiet_service_logs, replay
from groundcontrol.simulation.stores import memory_store, temporary_sqlite
from groundcontrol.simulation.summary import Summary, summarise
from groundcontrol.simulation.synthetic import Shape, generate

EXIT_OK, EXIT_PROBLEMS = 0, 1


def simulate(args: argparse.Namespace) -> int:
    quiet_service_logs()
    settings = load_settings(args.config)
    history = _history(args)
    for bad in history.skipped:
        print(f"skipped {bad}", file=sys.stderr)
    if not history.events:
        print("no events to replay", file=sys.stderr)
        return EXIT_PROBLEMS
    channels = ChannelModel.parse(args.channel_failure, args.undelivered, args.latency)
    first = _run(history.events, args.journeys or settings.journeys.file, settings, channels, args)
    second = _run(history.events, args.compare, settings, channels, args) if args.compare else None
    print(_printed(first, second, as_json=args.json), end="")
    if args.html:
        args.html.write_text(html_report(first, second), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    return EXIT_OK


def _history(args: argparse.Namespace) -> History:
    if args.events is not None:
        return read_events(args.events, strict=args.strict)
    lines = [event_line(body) for body in generate(Shape(args.synthetic, args.days, args.seed))]
    if args.write_events:
        args.write_events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return parse_lines(lines, f"synthetic (seed {args.seed})", strict=True)


def _run(
    events: tuple[Event, ...],
    journeys_file: Path,
    settings: Settings,
    channels: ChannelModel,
    args: argparse.Namespace,
) -> Summary:
    scenario = Scenario(
        load_journeys(journeys_file), settings, channels, seed=args.seed, until=_until(args)
    )
    if args.store == "sqlite":
        with temporary_sqlite() as factory:
            result = asyncio.run(replay(events, scenario, store_factory=factory))
    elif args.workers > 1:
        result = replay_in_processes(events, scenario, args.workers)
    else:
        result = asyncio.run(replay(events, scenario, store_factory=memory_store))
    return summarise(result, str(journeys_file))


def _until(args: argparse.Namespace) -> datetime | None:
    """A synthetic history's window is the one it was made for."""
    if args.synthetic is None:
        return None
    return Shape(args.synthetic, args.days).start + timedelta(days=args.days)


def _printed(first: Summary, second: Summary | None, *, as_json: bool) -> str:
    if as_json:
        return json_report(first, second) + "\n"
    return compare_report(first, second) if second else text_report(first)
