"""`groundcontrol export-events`: the store's history in the JSONL `simulate` reads."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from groundcontrol.domain import utcnow
from groundcontrol.durations import parse_duration
from groundcontrol.errors import ConfigError
from groundcontrol.settings import load_settings
from groundcontrol.simulation.events_file import event_line
from groundcontrol.store import create_store
from groundcontrol.store.sql.history import event_history

EXIT_OK = 0


async def run(args: argparse.Namespace, out: TextIO, clock: Callable[[], datetime] = utcnow) -> int:
    try:
        since = clock() - parse_duration(args.since)
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None
    settings = load_settings(args.config)
    store = create_store(settings.store.url)
    engine = getattr(store, "engine", None)
    if not isinstance(engine, AsyncEngine):
        raise ConfigError("export-events reads a SQLite or PostgreSQL store (store.url)")
    await store.open()
    try:
        written = await _write(engine, since, args, out)
    finally:
        await store.close()
    print(f"exported {written} events", file=sys.stderr)
    return EXIT_OK


async def _write(
    engine: AsyncEngine, since: datetime, args: argparse.Namespace, out: TextIO
) -> int:
    target = args.output.open("w", encoding="utf-8") if args.output else out
    written = 0
    try:
        async for body in event_history(engine, since, args.source):
            target.write(event_line(body) + "\n")
            written += 1
    finally:
        if args.output:
            target.close()
    return written
