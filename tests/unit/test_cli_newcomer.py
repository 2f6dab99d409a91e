"""The command line in a newcomer's hands: piped into `head`, given a partial sample,
pointed at a templates folder without samples."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from groundcontrol.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_render_into_a_closed_pipe_prints_no_traceback() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: like `| head -0`
    try:
        finished = subprocess.run(
            [
                sys.executable,
                "-m",
                "groundcontrol",
                "render",
                "case_received",
                "--channel",
                "email",
            ],
            cwd=REPO,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    stderr = finished.stderr.decode()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert finished.returncode == 0


def test_render_with_a_partial_sample_names_the_missing_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    data = tmp_path / "partial.json"
    data.write_text(json.dumps({"customer": {"name": "Ada"}, "case": {"id": "C-1"}}))
    code = main(["render", "case_received", "--channel", "sms", "--data", str(data)])
    err = capsys.readouterr().err
    assert code == 1
    assert "missing customer.id, case.status" in err, err


def test_check_without_samples_passes_with_a_generated_one_and_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    shutil.rmtree(tmp_path / "templates" / "_samples")
    config = tmp_path / "gc.toml"
    config.write_text(
        f'[templates]\ndir = "{tmp_path / "templates"}"\n'
        f'[journeys]\nfile = "{REPO / "config" / "journeys.toml"}"\n'
    )
    code = main(["check", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "checked against a generated sample (no " in out
