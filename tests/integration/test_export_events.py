"""`groundcontrol export-events` on a real SQLite store: the history comes back as the
JSONL `simulate --events` reads, with the customer inline and the source named."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from groundcontrol.domain import Event
from groundcontrol.errors import ConfigError
from groundcontrol.planning.journeys import load_journeys
from groundcontrol.planning.plan import planner_for
from groundcontrol.simulation import export
from groundcontrol.simulation.events_file import event_line, parse_lines
from groundcontrol.store.sql.sqlite import SqliteStore

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)


def bodies() -> list[dict[str, object]]:
    ada = {
        "id": "cust-1",
        "name": "Ada",
        "email": "ada@example.com",
        "phone": "+31612345678",
        "locale": "nl-NL",
        "timezone": "Europe/Amsterdam",
        "channels": ["sms", "email"],
    }
    return [
        {
            "source": source,
            "id": f"e{n}",
            "case_id": "C-1" if n < 3 else "C-2",
            "status": status,
            "occurred_at": (NOW - timedelta(days=days)).isoformat().replace("+00:00", "Z"),
            "customer": ada if n in (1, 3) else {"id": "cust-1"},
            "data": {"case_title": "Move"},
        }
        for n, (source, status, days) in enumerate(
            [("crm", "received", 40), ("crm", "in_progress", 2), ("erp", "received", 1)], 1
        )
    ]


async def recorded(path: Path) -> list[Event]:
    events = list(parse_lines([event_line(b) for b in bodies()], "test", strict=True).events)
    store = SqliteStore(f"sqlite:///{path}")
    await store.open()
    journeys = load_journeys(REPO / "config" / "journeys.toml")
    for event in events:  # each received when it occurred
        now = event.occurred_at
        await store.record_events([event], planner_for(journeys, now), now)
    await store.close()
    return events


def config(tmp_path: Path, database: Path) -> Path:
    path = tmp_path / "gc.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{database}"\n')
    return path


def args(config_path: Path, **options: object) -> argparse.Namespace:
    values = {"config": config_path, "since": "30d", "source": None, "output": None}
    return argparse.Namespace(**(values | options))


async def test_export_writes_the_recent_history_that_simulate_reads(tmp_path: Path) -> None:
    database = tmp_path / "gc.db"
    events = await recorded(database)
    out = io.StringIO()

    code = await export.run(args(config(tmp_path, database)), out, clock=lambda: NOW)

    lines = out.getvalue().splitlines()
    back = parse_lines(lines, "export", strict=True).events
    assert code == 0
    assert [(e.source, e.id, e.status) for e in back] == [
        ("crm", "e2", "in_progress"),
        ("erp", "e3", "received"),
    ], "older than 30 days is left out"
    assert back[0].occurred_at == events[1].occurred_at
    assert json.loads(lines[0])["customer"]["phone"] == "+31612345678"
    assert back[0].customer.fields["channels"] == ("sms", "email")


async def test_export_of_one_source_to_a_file(tmp_path: Path) -> None:
    database = tmp_path / "gc.db"
    await recorded(database)
    target = tmp_path / "out.jsonl"

    await export.run(
        args(config(tmp_path, database), since="60d", source="crm", output=target),
        io.StringIO(),
        clock=lambda: NOW,
    )

    back = parse_lines(target.read_text().splitlines(), "export", strict=True).events
    assert [e.id for e in back] == ["e1", "e2"]


async def test_a_bad_since_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--since"):
        await export.run(args(config(tmp_path, tmp_path / "x.db"), since="soon"), io.StringIO())
