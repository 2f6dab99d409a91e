from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from groundcontrol.errors import ConfigError
from groundcontrol.templates.context import first_name, load_sample, load_samples

SAMPLE = {
    "customer": {"id": "cust-1", "name": "Ada Lovelace", "channels": ["sms"], "timezone": "UTC"},
    "case": {"id": "C-1", "status": "received", "data": {"case_title": "Move"}},
    "event": {"id": "e1", "status": "received", "occurred_at": "2026-11-22T10:00:00Z"},
}


def write(path: Path, content: object) -> Path:
    path.write_text(json.dumps(content) if not isinstance(content, str) else content)
    return path


@pytest.mark.parametrize(
    ("name", "expected"), [("Ada Lovelace", "Ada"), ("  Grace ", "Grace"), ("", None), (None, None)]
)
def test_first_name(name: str | None, expected: str | None) -> None:
    assert first_name(name) == expected


def test_sample_builds_the_template_context(tmp_path: Path) -> None:
    sample = load_sample(write(tmp_path / "received.json", SAMPLE))
    context = sample.context("nl")
    assert sample.name == "received"
    assert context["customer"]["first_name"] == "Ada"
    assert context["case"] == {
        "id": "C-1",
        "status": "received",
        "previous_status": None,
        "data": {"case_title": "Move"},
    }
    assert context["now"] == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert (context["locale"], context["unsubscribe_url"]) == ("nl", None)


def test_samples_are_loaded_in_name_order(tmp_path: Path) -> None:
    for name in ("b", "a"):
        write(tmp_path / f"{name}.json", SAMPLE)
    assert [s.name for s in load_samples(tmp_path)] == ["a", "b"]
    assert load_samples(tmp_path / "absent") == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not readable JSON"),
        ([1, 2], "not a valid sample"),
        ({"case": SAMPLE["case"]}, "not a valid sample"),
        ({**SAMPLE, "customer": {"id": "c", "channels": ["fax"]}}, "unknown channels"),
    ],
)
def test_bad_samples_are_config_errors(tmp_path: Path, content: object, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_sample(write(tmp_path / "bad.json", content))


def test_missing_sample_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_sample(tmp_path / "nope.json")
