from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundcontrol.planning.journeys import Journeys, load_journeys, parse_journeys
from groundcontrol.templates.check import check_templates
from groundcontrol.templates.renderer import Renderer

REPO = Path(__file__).resolve().parents[3]
SAMPLE = {
    "customer": {"id": "cust-1", "name": "Ada"},
    "case": {"id": "C-1", "status": "received", "data": {}},
    "event": {"id": "e1", "status": "received", "occurred_at": "2026-11-22T10:00:00Z"},
}


def journeys(*templates: str) -> Journeys:
    rules = [{"status": f"s{i}", "template": name} for i, name in enumerate(templates)]
    return parse_journeys({"rules": rules})


def folder(tmp_path: Path, files: dict[str, str], samples: bool = True) -> Path:
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    if samples:
        (tmp_path / "_samples").mkdir()
        (tmp_path / "_samples" / "received.json").write_text(json.dumps(SAMPLE))
    return tmp_path


def check(root: Path, rules: Journeys) -> list[str]:
    return check_templates(Renderer.from_directory(root), rules, root / "_samples")


def test_bundled_templates_and_journeys_have_no_problems() -> None:
    bundled = REPO / "templates"
    rules = load_journeys(REPO / "config" / "journeys.toml")
    assert check(bundled, rules) == []


def test_syntax_error_is_reported_once_with_file_and_line(tmp_path: Path) -> None:
    root = folder(tmp_path, {"t/sms.j2": "Hello\n{% if customer.name %}\nno end"})
    problems = check(root, journeys("t"))
    assert len(problems) == 1
    assert problems[0].startswith("t/sms.j2:3: syntax error")


def test_broken_layout_is_reported_once(tmp_path: Path) -> None:
    files = {
        "_layouts/email.j2": "{% block subject %}{% endblock %}{% block text %}{{ }}{% endblock %}",
        "t/email.j2": '{% extends "_layouts/email.j2" %}{% block subject %}s{% endblock %}',
    }
    problems = check(folder(tmp_path, files), journeys("t"))
    assert len(problems) == 1
    assert problems[0].startswith("_layouts/email.j2:1: syntax error")


def test_journey_naming_a_missing_template(tmp_path: Path) -> None:
    root = folder(tmp_path, {"t/sms.j2": "hi"})
    rules = parse_journeys(
        {
            "rules": [
                {"status": "received", "template": "t"},
                {
                    "status": "waiting",
                    "template": "t",
                    "follow_up": {"after": "1h", "template": "nudge"},
                },
            ]
        }
    )
    assert check(root, rules) == [
        "journey rule for status 'waiting' names template 'nudge', which does not exist "
        "for any channel (no nudge/<channel>.j2)"
    ]


def test_template_failing_a_sample_names_file_line_and_sample(tmp_path: Path) -> None:
    root = folder(tmp_path, {"t/chat.nl.j2": "Hoi\n{{ case.data.case_title }}"})
    (root / "_samples" / "other.json").write_text(json.dumps(SAMPLE))
    assert check(root, journeys("t")) == [
        "t/chat.nl.j2:2: undefined variable: 'dict object' has no attribute 'case_title' "
        "(sample other, received)"
    ]


@pytest.mark.parametrize("block", ["subject", "text"])
def test_email_missing_a_block(tmp_path: Path, block: str) -> None:
    other = "text" if block == "subject" else "subject"
    root = folder(tmp_path, {"t/email.j2": f"{{% block {other} %}}x{{% endblock %}}"})
    problems = check(root, journeys("t"))
    assert len(problems) == 1
    assert f"block {block}" in problems[0]


def test_without_samples_a_generated_one_fills_the_data_the_templates_read(
    tmp_path: Path,
) -> None:
    files = {"t/sms.j2": "{{ case.data.case_title }} {{ event.data['eta'] }} {{ customer.name }}"}
    root = folder(tmp_path, files, samples=False)
    assert check(root, journeys("t")) == []


def test_without_samples_a_name_that_exists_nowhere_is_still_an_error(tmp_path: Path) -> None:
    root = folder(tmp_path, {"t/sms.j2": "hi {{ custmer.name }}"}, samples=False)
    [problem] = check(root, journeys("t"))
    assert "custmer" in problem and "(sample generated)" in problem


def test_bad_sample_is_a_problem(tmp_path: Path) -> None:
    root = folder(tmp_path, {"t/sms.j2": "hi"})
    (root / "_samples" / "broken.json").write_text("{")
    problems = check(root, journeys("t"))
    assert len(problems) == 1
    assert "broken.json: not readable JSON" in problems[0]


def test_empty_folder_is_a_problem(tmp_path: Path) -> None:
    assert check(tmp_path, journeys()) == ["no templates found"]
