"""`groundcontrol simulate` from the command line: exit codes, output, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundcontrol.cli import main

REPO = Path(__file__).resolve().parents[3]
TODAY = REPO / "config" / "journeys.toml"
PROPOSAL = REPO / "docs" / "simulation" / "journeys-proposal.toml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["simulate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_synthetic_json_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    saved = tmp_path / "history.jsonl"
    code, out, _ = run(
        capsys, "--synthetic", "30", "--days", "3", "--seed", "2", "--json",
        "--journeys", str(TODAY), "--write-events", str(saved),
    )  # fmt: skip

    assert code == 0
    report = json.loads(out)
    assert report["overall"]["cases"] == 30
    assert {"received", "in_progress"} <= set(report["by_status"])
    assert len(saved.read_text().splitlines()) == sum(report["events"].values())


def test_compare_prints_both_and_writes_the_html(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    code, out, err = run(
        capsys, "--synthetic", "30", "--days", "7", "--journeys", str(TODAY),
        "--compare", str(PROPOSAL), "--html", str(page), "--channel-failure", "sms=0.1",
    )  # fmt: skip

    assert code == 0
    assert "(A) against" in out
    assert "B - A" in out
    assert page.read_text().count("<svg") == 3
    assert f"wrote {page}" in err


def test_a_bad_line_is_named_and_skipped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    good = {
        "id": "e1",
        "case_id": "C-1",
        "status": "received",
        "occurred_at": "2026-11-23T10:00:00Z",
        "customer": {"id": "c1", "email": "c1@example.com", "channels": ["email"]},
    }
    events.write_text(json.dumps(good) + "\n{oops\n")

    code, out, err = run(capsys, "--events", str(events), "--journeys", str(TODAY))

    assert code == 0
    assert f"skipped {events}:2: not valid JSON" in err
    assert "Traceback" not in err
    assert "cases" in out


def test_strict_stops_with_the_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"id": "e1"}\n')

    code, _, err = run(capsys, "--events", str(events), "--strict")

    assert code == 1
    assert f"{events}:1:" in err
    assert "case_id" in err


def test_a_missing_events_file_is_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "--events", str(tmp_path / "nope.jsonl"))

    assert code == 1
    assert "cannot read events file" in err


def test_a_bad_channel_option_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--synthetic", "5", "--days", "1", "--channel-failure", "fax=1")

    assert code == 1
    assert "--channel-failure" in err


def test_two_workers_report_exactly_what_one_does(capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--synthetic", "80", "--days", "5", "--seed", "3", "--json"]
    flaky = ["--channel-failure", "sms=0.2", "--undelivered", "email=0.1"]

    _, alone, _ = run(capsys, *common, *flaky, "--workers", "1")
    _, shared, _ = run(capsys, *common, *flaky, "--workers", "2")

    assert json.loads(alone) == json.loads(shared)


def test_workers_print_nothing_but_the_report(capfd: pytest.CaptureFixture[str]) -> None:
    # Spawned workers write to the process's own stderr (fd 2), which capfd sees: a dead
    # letter there used to print one warning line per message.
    argv = ["--synthetic", "30", "--days", "7", "--seed", "3", "--json"]

    code = main(["simulate", *argv, "--channel-failure", "email=1", "--workers", "2"])
    out, err = capfd.readouterr()

    assert code == 0
    assert json.loads(out)["overall"]["cases"] == 30
    assert err == ""


def test_the_sqlite_store_reports_what_the_memory_store_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = ["--synthetic", "20", "--days", "3", "--seed", "5", "--json", "--workers", "1"]

    _, memory, _ = run(capsys, *common)
    code, sqlite, _ = run(capsys, *common, "--store", "sqlite")

    assert code == 0
    assert json.loads(memory) == json.loads(sqlite)
