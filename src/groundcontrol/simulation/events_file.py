"""The history a simulation replays: one `POST /v1/events` body per line (JSONL).

Each line is validated exactly as the ingest API validates a body. A line may also
name its `source` (export-events writes it); without one it counts as `DEFAULT_SOURCE`.
A bad line is reported with the file and line number and skipped, or stops the read
under `strict`. Events come back in `occurred_at` order, whatever order the file had.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from groundcontrol.api.ingest import canonical_hash
from groundcontrol.api.problems import field_errors
from groundcontrol.api.schemas import EventBody, to_event
from groundcontrol.domain import Event
from groundcontrol.errors import GroundControlError

DEFAULT_SOURCE = "simulation"


class EventsFileError(GroundControlError):
    """An events file could not be read."""


@dataclass(frozen=True)
class BadLine:
    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class History:
    """The events in `occurred_at` order, and the lines that were skipped."""

    events: tuple[Event, ...]
    skipped: tuple[BadLine, ...] = ()
    reordered: bool = False  # the file was not in `occurred_at` order


def read_events(path: Path, *, strict: bool = False) -> History:
    """Read and validate `path`; raise EventsFileError if it cannot be read, or under
    `strict` at the first bad line."""
    try:
        with path.open(encoding="utf-8") as lines:
            return parse_lines(lines, str(path), strict=strict)
    except OSError as exc:
        raise EventsFileError(f"cannot read events file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise EventsFileError(f"{path}: not UTF-8 text ({exc.reason})") from None


def parse_lines(lines: Iterable[str], origin: str, *, strict: bool = False) -> History:
    events: list[Event] = []
    skipped: list[BadLine] = []
    for number, text in _numbered(lines):
        parsed = parse_line(text, origin, number)
        if isinstance(parsed, Event):
            events.append(parsed)
        elif strict:
            raise EventsFileError(str(parsed))
        else:
            skipped.append(parsed)
    ordered = sorted(events, key=lambda e: e.occurred_at)  # stable: ties keep file order
    return History(tuple(ordered), tuple(skipped), reordered=ordered != events)


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for number, text in enumerate(lines, start=1):
        if text.strip():
            yield number, text


def parse_line(text: str, origin: str, number: int) -> Event | BadLine:
    """One line as the ingest API would take it, or why not."""
    try:
        payload = json.loads(text)
    except ValueError as exc:
        return BadLine(origin, number, f"not valid JSON: {exc}")
    if not isinstance(payload, dict):
        return BadLine(origin, number, "expected a JSON object (one event per line)")
    source = payload.pop("source", DEFAULT_SOURCE)
    if not isinstance(source, str) or not source:
        return BadLine(origin, number, "source: must be a non-empty string")
    try:
        body = EventBody.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(exc))
        return BadLine(origin, number, problems)
    return to_event(body, source, canonical_hash(payload))


def event_line(payload: dict[str, Any]) -> str:
    """One JSONL line (the writer's side, for export and the synthetic generator)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
