from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import pytest

from groundcontrol.domain import CaseState, ChannelName, Customer, Priority
from groundcontrol.errors import TemplateError, TemplateNotFound
from groundcontrol.templates.budget import budget
from groundcontrol.templates.check import list_templates
from groundcontrol.templates.context import load_samples
from groundcontrol.templates.renderer import (
    Renderer,
    build_context,
    locale_chain,
    normalise_locale,
)

BUNDLED = Path(__file__).resolve().parents[3] / "templates"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def renderer(files: dict[str, str], **kwargs: Any) -> Renderer:
    return Renderer(jinja2.DictLoader(files), **kwargs)


def context(**data: Any) -> dict[str, Any]:
    customer = Customer(id="c1", name="Ada Lovelace", timezone="Europe/Amsterdam")
    case = CaseState(
        id="C-1",
        customer_id="c1",
        status="received",
        previous_status=None,
        status_at=NOW,
        sequence=None,
        priority=Priority.NORMAL,
        data=data,
    )
    return build_context(
        customer=customer,
        case=case,
        event={"id": "e1", "status": "received"},
        unsubscribe_url="https://example.com/u?a=1&b=2",
        now=NOW,
        locale="en",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("fr_CA", "fr-CA"), ("FR-ca", "fr-CA"), ("nl", "nl"), ("zh_hant_tw", "zh-Hant-TW")],
)
def test_locale_tags_are_normalised(raw: str, expected: str) -> None:
    assert normalise_locale(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "../../etc", "fr CA", "x"])
def test_malformed_locales_are_ignored(raw: str | None) -> None:
    assert normalise_locale(raw) is None
    assert locale_chain(raw) == []


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr-CA", "fr-CA"),
        ("fr_CA", "fr-CA"),
        ("fr-BE", "fr"),
        ("fr", "fr"),
        ("de-DE", "default"),
        (None, "default"),
        ("../../secrets", "default"),
    ],
)
def test_locale_falls_back_region_then_language_then_default(
    locale: str | None, expected: str
) -> None:
    files = {
        "hello/sms.j2": "default",
        "hello/sms.fr.j2": "fr",
        "hello/sms.fr-CA.j2": "fr-CA",
    }
    assert renderer(files).render("hello", "sms", locale, context()).text == expected


def test_default_locale_file_is_the_last_resort() -> None:
    files = {"hello/sms.en.j2": "english"}
    assert renderer(files).render("hello", "sms", "nl", context()).text == "english"


def test_dates_follow_the_language_of_the_chosen_file() -> None:
    files = {"t/sms.j2": "{{ case.data.eta | date }}", "t/sms.nl.j2": "{{ case.data.eta | date }}"}
    r = renderer(files)
    assert r.render("t", "sms", "nl-BE", context(eta="2026-11-25")).text == "25 november 2026"
    assert r.render("t", "sms", "fr", context(eta="2026-11-25")).text == "November 25, 2026"


def test_missing_template_is_template_not_found() -> None:
    with pytest.raises(TemplateNotFound, match=r"nope/chat\.j2"):
        renderer({"hello/sms.j2": "x"}).render("nope", "chat", None, context())


@pytest.mark.parametrize("name", ["../etc", "a/b", "", "_layouts"])
def test_template_names_cannot_leave_their_folder(name: str) -> None:
    with pytest.raises(TemplateNotFound):
        renderer({"_layouts/sms.j2": "x"}).render(name, "sms", None, context())


def test_undefined_variable_is_an_error_with_file_and_line() -> None:
    files = {"t/sms.j2": "Hello\n{{ customer.first_name }} {{ case.data.missing }}"}
    with pytest.raises(TemplateError, match=r"t/sms\.j2:2: undefined variable") as caught:
        renderer(files).render("t", "sms", None, context())
    assert isinstance(caught.value.__cause__, jinja2.UndefinedError)


def test_syntax_error_reports_file_and_line() -> None:
    files = {"t/sms.j2": "line one\nline two\n{% if %}"}
    with pytest.raises(TemplateError, match=r"t/sms\.j2:3: syntax error") as caught:
        renderer(files).render("t", "sms", None, context())
    assert isinstance(caught.value.__cause__, jinja2.TemplateSyntaxError)


def test_html_is_autoescaped_but_text_subject_and_sms_are_not() -> None:
    files = {
        "t/email.j2": (
            "{% block subject %}Re: {{ case.data.title }}{% endblock %}"
            "{% block text %}{{ case.data.title }}{% endblock %}"
            "{% block html %}<p>{{ case.data.title }}</p>{% endblock %}"
        ),
        "t/sms.j2": "{{ case.data.title }}",
    }
    r = renderer(files)
    email = r.render("t", "email", None, context(title="<b>R&D</b>"))
    assert email.subject == "Re: <b>R&D</b>"
    assert email.text == "<b>R&D</b>"
    assert email.html == "<p>&lt;b&gt;R&amp;D&lt;/b&gt;</p>"
    assert r.render("t", "sms", None, context(title="<b>R&D</b>")).text == "<b>R&D</b>"


def test_email_blocks_are_rendered_separately_and_tidied() -> None:
    files = {
        "t/email.j2": (
            "ignored outside blocks\n"
            "{% block subject %}\n  Your   case\n  {{ case.id }}\n{% endblock %}\n"
            "{% block text %}\n\nHello   \n\n\n\nBye\n\n{% endblock %}"
        )
    }
    email = renderer(files).render("t", "email", None, context())
    assert email.subject == "Your case C-1"
    assert email.text == "Hello\n\nBye"
    assert email.html is None


def test_email_extends_a_layout_that_wraps_the_child_blocks() -> None:
    files = {
        "_layouts/mail.j2": (
            "{% block subject %}{% endblock %}"
            "{% block text %}{% block message %}{% endblock %}\n\n-- footer{% endblock %}"
            "{% block html %}<div>{{ self.message() }}</div>{% endblock %}"
        ),
        "t/email.j2": (
            '{% extends "_layouts/mail.j2" %}'
            "{% block subject %}Hi{% endblock %}"
            "{% block message %}Body {{ case.data.title }}{% endblock %}"
        ),
    }
    email = renderer(files).render("t", "email", None, context(title="R&D"))
    assert (email.subject, email.text) == ("Hi", "Body R&D\n-- footer")
    assert email.html == "<div>Body R&amp;D</div>"


def test_email_block_can_call_super() -> None:
    files = {
        "_layouts/mail.j2": "{% block subject %}[Acme]{% endblock %}{% block text %}{% endblock %}",
        "t/email.j2": (
            '{% extends "_layouts/mail.j2" %}'
            "{% block subject %}{{ super() }} Hi{% endblock %}{% block text %}x{% endblock %}"
        ),
    }
    assert renderer(files).render("t", "email", None, context()).subject == "[Acme] Hi"


@pytest.mark.parametrize("block", ["subject", "text"])
def test_email_without_a_required_block_is_an_error(block: str) -> None:
    blocks = {
        "subject": "{% block subject %}s{% endblock %}",
        "text": "{% block text %}t{% endblock %}",
    }
    del blocks[block]
    files = {"t/email.j2": "".join(blocks.values())}
    with pytest.raises(TemplateError, match=rf"t/email\.j2: .*block {block}"):
        renderer(files).render("t", "email", None, context())


def test_empty_rendered_text_is_an_error() -> None:
    with pytest.raises(TemplateError, match="rendered no text"):
        renderer({"t/sms.j2": "  {{ '' }}\n"}).render("t", "sms", None, context())


def test_missing_layout_is_a_template_error_not_a_missing_message() -> None:
    files = {"t/email.j2": '{% extends "_layouts/gone.j2" %}{% block subject %}s{% endblock %}'}
    with pytest.raises(TemplateError, match=r"t/email\.j2: template _layouts/gone\.j2") as caught:
        renderer(files).render("t", "email", None, context())
    assert not isinstance(caught.value, TemplateNotFound)


def test_error_inside_the_layout_names_the_layout_line() -> None:
    files = {
        "_layouts/mail.j2": (
            "{% block subject %}{% endblock %}\n{% block text %}\n{{ oops }}{% endblock %}"
        ),
        "t/email.j2": '{% extends "_layouts/mail.j2" %}{% block subject %}s{% endblock %}',
    }
    with pytest.raises(TemplateError, match=r"_layouts/mail\.j2:3: undefined variable"):
        renderer(files).render("t", "email", None, context())


def test_circular_extends_is_an_error() -> None:
    files = {
        "_layouts/a.j2": '{% extends "_layouts/b.j2" %}',
        "_layouts/b.j2": '{% extends "_layouts/a.j2" %}',
        "t/email.j2": '{% extends "_layouts/a.j2" %}{% block subject %}s{% endblock %}',
    }
    with pytest.raises(TemplateError, match="loop"):
        renderer(files).render("t", "email", None, context())


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ case.__init__.__globals__ }}",
        "{{ case.data.update({'x': 1}) }}",
        "{{ customer.channels.append('sms') }}",
    ],
)
def test_sandbox_blocks_unsafe_access(source: str) -> None:
    with pytest.raises(TemplateError, match="not allowed") as caught:
        renderer({"t/chat.j2": source}).render("t", "chat", None, context())
    assert isinstance(caught.value.__cause__, jinja2.exceptions.SecurityError)


def test_output_cap_stops_a_runaway_loop_early() -> None:
    files = {
        "t/sms.j2": "{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}"
    }
    with (
        budget(max_steps=2_000_000, seconds=60) as spent,
        pytest.raises(TemplateError, match=r"t/sms\.j2: output exceeds the cap of 1000"),
    ):
        renderer(files, max_output_chars=1000).render("t", "sms", None, context())
    # Stopped at the cap, not after the million iterations: counted, not timed.
    assert spent.steps < 5_000


def test_output_under_the_cap_renders() -> None:
    files = {"t/sms.j2": "{% for i in range(100) %}x{% endfor %}"}
    assert (
        len(renderer(files, max_output_chars=100).render("t", "sms", None, context()).text) == 100
    )


def test_a_single_huge_expression_is_refused_before_it_is_built() -> None:
    with pytest.raises(TemplateError, match="would build 10000000 characters"):
        renderer({"t/sms.j2": "{{ 'x' * 10000000 }}"}, max_output_chars=1000).render(
            "t", "sms", None, context()
        )


def test_runtime_errors_of_any_kind_become_template_errors() -> None:
    with pytest.raises(TemplateError, match=r"t/sms\.j2:1: .*division") as caught:
        renderer({"t/sms.j2": "{{ 1 // 0 }}"}).render("t", "sms", None, context())
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_clear_cache_picks_up_a_changed_source() -> None:
    sources = {"t/sms.j2": "one"}
    loader = jinja2.FunctionLoader(lambda name: (sources[name], None, lambda: True))
    r = Renderer(loader)
    assert r.render("t", "sms", None, context()).text == "one"
    sources["t/sms.j2"] = "two"
    assert r.render("t", "sms", None, context()).text == "one"
    r.clear_cache()
    assert r.render("t", "sms", None, context()).text == "two"


def test_build_context_matches_the_contract() -> None:
    built = context(case_title="Move")
    assert built["customer"]["first_name"] == "Ada"
    assert built["customer"]["name"] == "Ada Lovelace"
    assert built["case"] == {
        "id": "C-1",
        "status": "received",
        "previous_status": None,
        "data": {"case_title": "Move"},
    }
    assert built["event"] == {"id": "e1", "status": "received"}
    assert built["unsubscribe_url"] == "https://example.com/u?a=1&b=2"
    assert (built["now"], built["timezone"]) == (NOW, "Europe/Amsterdam")


def test_list_templates_groups_by_name_channel_and_locale() -> None:
    loader = jinja2.DictLoader(
        {
            "a/email.j2": "",
            "a/email.nl.j2": "",
            "a/sms.fr-CA.j2": "",
            "_layouts/email.j2": "",
            "a/x.txt": "",
        }
    )
    assert list_templates(loader) == {"a": {"email": ["", "nl"], "sms": ["fr-CA"]}}


BUNDLED_FILES = [
    (name, channel)
    for name, channels in sorted(list_templates(BUNDLED).items())
    for channel in sorted(channels)
]
SAMPLES = load_samples(BUNDLED / "_samples")


def test_bundle_covers_every_journey_template_on_every_channel_in_two_languages() -> None:
    catalogue = list_templates(BUNDLED)
    expected = {
        "case_received",
        "case_in_progress",
        "waiting_on_customer",
        "waiting_reminder",
        "case_resolved",
        "still_working",
    }
    assert set(catalogue) == expected
    for channels in catalogue.values():
        assert {c: sorted(locales) for c, locales in channels.items()} == {
            c: ["", "nl"] for c in ("chat", "email", "sms")
        }


@pytest.mark.parametrize(("name", "channel"), BUNDLED_FILES)
@pytest.mark.parametrize("locale", ["en", "nl-NL"])
def test_every_bundled_template_renders_every_sample(
    name: str, channel: ChannelName, locale: str
) -> None:
    bundled = Renderer.from_directory(BUNDLED)
    assert len(SAMPLES) >= 4
    for sample in SAMPLES:
        message = bundled.render(name, channel, locale, sample.context(locale))
        assert message.text
        assert "None" not in message.text
        if channel == "email":
            assert message.subject
            assert "\n" not in message.subject
            assert message.html
            assert message.html.startswith("<!DOCTYPE html>")
            assert (sample.unsubscribe_url is not None) == (
                "Unsubscribe" in message.html or "Afmelden" in message.html
            )
        if channel == "sms":
            assert len(message.text) <= 320, message.text


def test_dutch_bundle_is_in_dutch() -> None:
    bundled = Renderer.from_directory(BUNDLED)
    sample = next(s for s in SAMPLES if s.name == "received")
    email = bundled.render("case_received", "email", "nl-NL", sample.context("nl-NL"))
    assert email.subject == "We hebben je aanvraag ontvangen: Address change"
    assert "25 november 2026" in email.text
    assert "Afmelden" in (email.html or "")
