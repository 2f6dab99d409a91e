from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundcontrol.simulation.events_file import (
    DEFAULT_SOURCE,
    EventsFileError,
    parse_lines,
    read_events,
)


def body(event_id: str, at: str, status: str = "received", **extra: object) -> str:
    payload = {
        "id": event_id,
        "case_id": "C-1",
        "status": status,
        "occurred_at": at,
        "customer": {"id": "cust-1", "channels": ["email"], "email": "a@example.com"},
    }
    return json.dumps(payload | extra)


def test_events_come_back_in_occurred_at_order_whatever_the_file_order() -> None:
    lines = [body("e2", "2026-11-22T11:00:00Z"), body("e1", "2026-11-22T10:00:00+00:00")]

    history = parse_lines(lines, "h.jsonl")

    assert [e.id for e in history.events] == ["e1", "e2"]
    assert history.reordered


def test_a_malformed_line_names_the_file_and_line_and_is_skipped() -> None:
    lines = [
        body("e1", "2026-11-22T10:00:00Z"),
        "{not json",
        "",
        body("e3", "yesterday"),
        "[1, 2]",
    ]

    history = parse_lines(lines, "h.jsonl")

    assert [e.id for e in history.events] == ["e1"]
    assert [str(bad).split(": ")[0] for bad in history.skipped] == [
        "h.jsonl:2",
        "h.jsonl:4",
        "h.jsonl:5",
    ]
    assert "occurred_at" in str(history.skipped[1])


def test_strict_stops_at_the_first_bad_line() -> None:
    with pytest.raises(EventsFileError, match=r"h\.jsonl:2: not valid JSON"):
        parse_lines([body("e1", "2026-11-22T10:00:00Z"), "{"], "h.jsonl", strict=True)


def test_a_line_may_name_its_source() -> None:
    lines = [body("e1", "2026-11-22T10:00:00Z", source="crm"), body("e2", "2026-11-22T10:00:01Z")]

    history = parse_lines(lines, "h.jsonl")

    assert [e.source for e in history.events] == ["crm", DEFAULT_SOURCE]


def test_an_unknown_status_is_a_valid_event() -> None:
    history = parse_lines([body("e1", "2026-11-22T10:00:00Z", status="escalated")], "h")

    assert history.events[0].status == "escalated"


def test_a_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(EventsFileError, match="cannot read events file"):
        read_events(tmp_path / "missing.jsonl")


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(EventsFileError, match="not UTF-8"):
        read_events(path)
