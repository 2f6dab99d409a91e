"""The renderer's own problems, read back in a marketer's words.

Each case renders a real draft with the real renderer and samples, so the
translation is checked against the messages Jinja really produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundcontrol.store.templates import TemplateKey
from groundcontrol.studio.drafts import Problem, check_draft, draft_renderer
from groundcontrol.studio.fields import split
from groundcontrol.studio.plain_errors import Shown, explain, shown
from groundcontrol.templates.context import load_samples
from groundcontrol.templates.renderer import Renderer

REPO = Path(__file__).resolve().parents[3]
KEY = TemplateKey.parse("case_received/sms.j2")
BASE = Renderer.from_directory(REPO / "templates")
SAMPLES = load_samples(REPO / "templates" / "_samples")


def plain(source: str) -> list[str]:
    problems = check_draft(draft_renderer(BASE, KEY, source), KEY, SAMPLES)
    lines = source.splitlines()
    return [explain(p.message, lines[p.line - 1] if p.line else "", p.sample) for p in problems]


def test_a_missing_data_field_names_the_field_the_sample_and_the_fix() -> None:
    assert plain("Ready by {{ case.data.eta }}.") == [
        "`case.data.eta` is missing in sample minimal; use `{% if case.data.eta %}…{% endif %}`"
        ' or a default: `{{ case.data.eta | default("…") }}`'
    ]


def test_an_empty_field_says_it_is_empty() -> None:
    assert plain("{{ customer.first_name.upper() }}") == [
        "`customer.first_name` is empty in sample minimal, so it has no `upper`"
    ]


def test_an_unknown_name_points_to_the_field_list() -> None:
    [said] = plain("Hi {{ firstname }}")
    assert said.startswith("`firstname` is not a field messages know")
    assert said.endswith("(in sample in_progress)")


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("Hi {% if %}", "A `{% … %}` tag is missing what it should test or show before `%}`"),
        (
            "{% if case.data.eta %}soon",
            "A `{% if %}` is never closed: add `{% endif %}` where its part ends",
        ),
        ("Hi {{ case.id", "A field is not closed: every `{{` needs a matching `}}`"),
        ("Hi {{ case.id }", "A field is not closed: every `{{` needs a matching `}}`"),
        ("Hi {% endif %}", "`{% endif %}` closes a `{% if %}` that is not open here"),
        ("Hi {% else %}", "`{% else %}` belongs inside an `{% if %}` … `{% endif %}`"),
        ("Hi {% shout %}", "`{% shout %}` is not something a message can use"),
        ("{{ case.id | loud }}", "There is no `loud` filter: try `default`, `date` or `upper`"),
    ],
)
def test_syntax_errors_say_what_to_do(source: str, said: str) -> None:
    assert plain(source) == [said]


def test_a_forbidden_construct_says_it_is_not_allowed() -> None:
    [said] = plain("{{ case.__class__ }}")
    assert said.startswith("Messages may not do this: access to attribute '__class__'")


def test_a_date_filter_on_text_says_it_needs_a_date() -> None:
    said = plain("{{ customer.name | date }}")
    assert "The `date` filter needs a date like 2026-11-25, and got something else" in said[0]


def test_anything_else_keeps_the_renderers_words_capitalised() -> None:
    assert explain("something odd happened") == "Something odd happened"
    assert explain("syntax error: odd", sample="received") == "Odd (in sample received)"


EMAIL = (
    '{% extends "_layouts/email.j2" %}\n'
    "{% block subject %}About {{ case.nope }}{% endblock %}\n"
    "{% block message %}\nHi,\n{{ case.data.eta }}\n{% endblock %}\n"
)


def test_a_problem_is_shown_at_its_field_and_line_in_the_simple_editor() -> None:
    fields = split("email", EMAIL)
    body = shown(
        Problem("undefined variable: 'dict object' has no attribute 'eta'", 5, "minimal"),
        EMAIL,
        "email",
        fields,
    )
    assert (body.field, body.line, body.where) == ("body", 2, "Message, line 2")
    assert body.text.startswith("`case.data.eta` is missing in sample minimal")
    subject = shown(Problem("x", 2), EMAIL, "email", fields)
    assert (subject.field, subject.where) == ("subject", "Subject")


def test_a_problem_is_shown_at_its_line_of_the_whole_template_in_the_advanced_editor() -> None:
    at = shown(Problem("x", 5), EMAIL, "email", None)
    assert (at.field, at.line, at.where) == ("source", 5, "Line 5")


def test_a_problem_outside_the_draft_has_no_place() -> None:
    assert shown(Problem("_layouts/email.j2 line 3: boom"), EMAIL, "email", None) == Shown(
        "_layouts/email.j2 line 3: boom"
    )
