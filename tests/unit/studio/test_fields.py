"""The simple editor's split and join are exact, and what does not fit stays whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groundcontrol.domain import ChannelName
from groundcontrol.studio.fields import (
    FieldLine,
    Fields,
    empty,
    field_line,
    join,
    layout_or_default,
    split,
)

REPO = Path(__file__).resolve().parents[3]
BUNDLED = [p for p in sorted((REPO / "templates").glob("*/*.j2")) if p.parent.name[0] != "_"]

RECEIVED = (
    '{% extends "_layouts/email.j2" %}\n'
    "{% block subject %}We've received {{ case.id }}{% endblock %}\n"
    "{% block message %}\nHi,\n\nThanks.\n{% endblock %}\n"
)


def test_an_email_splits_into_subject_and_body() -> None:
    fields = split("email", RECEIVED)
    assert fields == Fields(body="Hi,\n\nThanks.\n", subject="We've received {{ case.id }}")
    assert join("email", fields) == RECEIVED


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_bundled_message_opens_in_the_simple_editor_and_joins_back_exactly(
    path: Path,
) -> None:
    source = path.read_text(encoding="utf-8")
    channel: ChannelName = path.name.split(".")[0]  # type: ignore[assignment]
    fields = split(channel, source)
    assert fields is not None
    assert join(channel, fields) == source


@pytest.mark.parametrize(
    "source",
    [
        RECEIVED.replace("{% endblock %}\n", "{% endblock %}\n{% block html %}<p>x</p>", 1),
        RECEIVED + "{% block content %}<p>HTML</p>{% endblock %}\n",
        RECEIVED.replace("Thanks.", "Thanks.{% endblock %}{% block message %}"),
        RECEIVED.replace("{% block message %}\n", "{% block message %}"),
        RECEIVED.replace(" %}\n{% block subject", "%}\n{% block subject"),
        RECEIVED.removesuffix("\n"),
        "Plain text without any layout",
    ],
    ids=["html block", "content block", "nested block", "no newline", "spacing", "no eol", "bare"],
)
def test_an_email_of_another_shape_opens_in_the_advanced_editor(source: str) -> None:
    assert split("email", source) is None


def test_an_sms_is_its_body_unless_it_uses_blocks() -> None:
    assert split("sms", "Hi {{ case.id }}\n") == Fields(body="Hi {{ case.id }}\n")
    assert split("chat", '{% extends "x.j2" %}') is None
    assert split("sms", "{% block x %}{% endblock %}") is None


@given(st.text())
def test_whatever_splits_joins_back_to_the_same_file(source: str) -> None:
    channels: list[ChannelName] = ["email", "sms"]
    for channel in channels:
        fields = split(channel, source)
        if fields is not None:
            assert join(channel, fields) == source


@given(
    subject=st.text().filter(lambda s: "\n" not in s and "\r" not in s and "{%" not in s),
    body=st.text().filter(lambda s: "{%" not in s),
)
def test_joined_fields_split_back_to_the_same_fields(subject: str, body: str) -> None:
    fields = Fields(body=body, subject=subject)
    assert split("email", join("email", fields)) == fields


def test_a_subject_stays_on_one_line() -> None:
    assert "A B C" in join("email", Fields(body="", subject="A\nB\rC"))


def test_a_new_email_starts_from_the_layout_with_empty_fields() -> None:
    assert split("email", empty("email")) == Fields(body="", subject="")
    assert empty("sms") == ""


def test_lines_of_the_file_map_to_lines_of_the_fields() -> None:
    fields = split("email", RECEIVED)
    assert fields is not None
    assert field_line("email", fields, 1) is None
    assert field_line("email", fields, 2) == FieldLine("subject", 1)
    assert field_line("email", fields, 4) == FieldLine("body", 1)
    assert field_line("email", fields, 6) == FieldLine("body", 3)
    assert field_line("sms", Fields(body="a\nb"), 2) == FieldLine("body", 2)


def test_a_posted_layout_name_is_a_name_or_the_standard_layout() -> None:
    assert layout_or_default("_layouts/brand.j2") == "_layouts/brand.j2"
    assert layout_or_default('x" %}{{ 7 }}{% extends "y') == "_layouts/email.j2"
    assert layout_or_default("") == "_layouts/email.j2"
