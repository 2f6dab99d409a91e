from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import pytest

from groundcontrol.cli import main
from groundcontrol.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the bundled templates and journeys with a config pointing at them."""
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    shutil.copy(REPO / "config" / "journeys.toml", tmp_path / "journeys.toml")
    (tmp_path / "gc.toml").write_text(
        f'[templates]\ndir = "{tmp_path / "templates"}"\n'
        f'[journeys]\nfile = "{tmp_path / "journeys.toml"}"\n'
    )
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_check_passes_on_the_bundled_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = run(capsys, "check")
    assert code == 0
    assert out.startswith("OK: config (config/groundcontrol.toml), 4 journey rules, 6 templates")


def test_check_reports_a_syntax_error_with_file_and_line(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    broken = project / "templates" / "case_resolved" / "sms.nl.j2"
    broken.write_text("Hallo\n{{ case.id }\n")
    code, out, err = run(capsys, "check", "--config", str(project / "gc.toml"))
    assert code == 1
    assert f"{project / 'templates'}/case_resolved/sms.nl.j2:2: syntax error" in out
    assert "1 problem(s) found" in err


def test_check_reports_case_page_words_that_do_not_render(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    words = project / "templates" / "_page" / "page.nl.j2"
    words.write_text(words.read_text().replace("customer.first_name", "customer.email"))
    code, out, _ = run(capsys, "check", "--config", str(project / "gc.toml"))
    assert code == 1
    assert f"{project / 'templates'}/_page/page.nl.j2:4: undefined variable" in out


def test_check_reports_a_journey_naming_a_missing_template(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    journeys = project / "journeys.toml"
    journeys.write_text(
        journeys.read_text() + '\n[[rules]]\nstatus = "cancelled"\ntemplate = "case_cancelled"\n'
    )
    code, out, _ = run(capsys, "check", "--config", str(project / "gc.toml"))
    assert code == 1
    assert "status 'cancelled' names template 'case_cancelled', which does not exist" in out


def test_check_with_a_missing_config_file_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "check", "--config", str(tmp_path / "nope.toml"))
    assert (code, out) == (1, "")
    assert err == f"error: config file {tmp_path / 'nope.toml'} does not exist\n"


def test_check_with_an_invalid_journeys_file_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    (project / "journeys.toml").write_text('[[rules]]\nstatus = "x"\n')
    code, _, err = run(capsys, "check", "--config", str(project / "gc.toml"))
    assert code == 1
    assert err.startswith(f"error: {project / 'journeys.toml'}: rules.0.template")


def test_render_prints_an_email_preview(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, out, _ = run(
        capsys, "render", "case_received", "--channel", "email", "--locale", "nl",
        "--config", str(project / "gc.toml"),
    )  # fmt: skip
    assert code == 0
    assert "case_received/email.nl.j2 with sample received" in out
    assert "Subject: We hebben je aanvraag ontvangen: Address change" in out
    assert "--- text ---\nHallo Ada," in out
    assert "--- html ---\n<!DOCTYPE html>" in out


def test_render_sms_with_own_data(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path
) -> None:
    data = json.loads((project / "templates" / "_samples" / "received.json").read_text())
    data["customer"]["name"] = "Grace Hopper"
    (tmp_path / "mine.json").write_text(json.dumps(data))
    code, out, _ = run(
        capsys, "render", "case_received", "--channel", "sms",
        "--data", str(tmp_path / "mine.json"), "--config", str(project / "gc.toml"),
    )  # fmt: skip
    assert code == 0
    assert '\nHi Grace, we\'ve received your request "Address change"' in out


def test_render_of_a_follow_up_uses_the_sample_of_its_status(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    code, out, _ = run(
        capsys, "render", "waiting_reminder", "--channel", "chat",
        "--config", str(project / "gc.toml"),
    )  # fmt: skip
    assert code == 0
    assert "with sample waiting_on_customer" in out
    assert "a copy of your new rental agreement" in out


def test_render_of_an_unknown_template_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    code, _, err = run(
        capsys, "render", "nope", "--channel", "sms", "--config", str(project / "gc.toml")
    )
    assert code == 1
    assert err.startswith("error: no template 'nope' for sms: tried nope/sms.j2")


def test_render_with_missing_data_file_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    code, _, err = run(
        capsys, "render", "case_received", "--channel", "sms",
        "--data", str(project / "absent.json"), "--config", str(project / "gc.toml"),
    )  # fmt: skip
    assert code == 1
    assert "absent.json does not exist" in err


@pytest.mark.parametrize(
    "argv",
    [[], ["launch"], ["render", "case_received"], ["render", "x", "--channel", "fax"]],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "usage: groundcontrol" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "check" in out


def test_serve_hands_the_loaded_settings_to_the_app(
    monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    served: list[Settings] = []

    async def serve(settings: Settings) -> None:
        served.append(settings)

    app = types.ModuleType("groundcontrol.app")
    app.serve = serve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "groundcontrol.app", app)
    assert main(["serve", "--config", str(project / "gc.toml")]) == 0
    assert [s.templates.dir for s in served] == [project / "templates"]


def test_serve_with_a_missing_config_file_does_not_start(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "groundcontrol.app", None)  # importing it would fail
    code, _, err = run(capsys, "serve", "--config", str(tmp_path / "nope.toml"))
    assert code == 1
    assert "does not exist" in err


def test_check_flags_a_follow_up_cadence_that_cannot_keep_its_promise(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    journeys = project / "journeys.toml"
    journeys.write_text(
        journeys.read_text().replace(
            'follow_up = { after = "24h", template = "waiting_reminder", every = "48h", max = 2 }',
            'promise = "12h"\nfollow_up = { after = "24h", template = "waiting_reminder", '
            'every = "48h", max = 2 }',
        )
    )
    code, out, _ = run(capsys, "check", "--config", str(project / "gc.toml"))
    assert code == 1
    assert (
        "journey rule for status 'waiting_on_customer': follow_up.after 1d is longer than "
        "the promise 12h" in out
    )
    assert "follow_up.every 2d is longer than the promise 12h" in out


def test_check_refuses_a_promise_that_is_no_duration(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    journeys = project / "journeys.toml"
    journeys.write_text(journeys.read_text().replace('promise = "72h"', 'promise = "soon"'))
    code, _, err = run(capsys, "check", "--config", str(project / "gc.toml"))
    assert code == 1
    assert "defaults.promise: invalid duration 'soon'" in err
