"""The simple editor's fields: a template file split into what a marketer edits (an
e-mail's subject line and body, an SMS or chat message's text) and joined back.

The split is exact: `join(channel, split(channel, source)) == source` for every
source `split` accepts, so the file the studio stores is byte for byte the file it
opened and `check`, `render`, files and export never see a difference. Anything
else (an HTML block, another layout shape, a block tag in the text) is not split:
it opens in the advanced editor, which shows the whole template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from groundcontrol.domain import ChannelName

EMAIL_LAYOUT = "_layouts/email.j2"
LAYOUT_NAME = re.compile(r"[\w./-]+")

_EMAIL = re.compile(
    r'\{% extends "(?P<layout>[\w./-]+)" %\}\n'
    r"\{% block subject %\}(?P<subject>[^\n]*?)\{% endblock %\}\n"
    r"\{% block message %\}\n(?P<body>.*)\{% endblock %\}\n",
    re.DOTALL,
)
# Tags that shape the file rather than the words: text holding one is not a field.
_SCAFFOLD = re.compile(r"\{%-?\s*(?:block|endblock|extends)\b")


@dataclass(frozen=True)
class Fields:
    """What the simple editor shows; `subject` and `layout` are for e-mail only."""

    body: str
    subject: str = ""
    layout: str = EMAIL_LAYOUT


@dataclass(frozen=True)
class FieldLine:
    """A line of the template file as the marketer sees it: in which field, which line."""

    field: str  # "subject" | "body"
    line: int


def split(channel: ChannelName, source: str) -> Fields | None:
    """The fields of `source`, or None when it only fits the advanced editor."""
    if channel != "email":
        return None if _SCAFFOLD.search(source) else Fields(body=source)
    match = _EMAIL.fullmatch(source)
    if match is None or _SCAFFOLD.search(match["subject"] + match["body"]):
        return None
    fields = Fields(body=match["body"], subject=match["subject"], layout=match["layout"])
    return fields if join(channel, fields) == source else None


def join(channel: ChannelName, fields: Fields) -> str:
    """The template file holding `fields`."""
    if channel != "email":
        return fields.body
    subject = fields.subject.replace("\r", " ").replace("\n", " ")  # a subject is one line
    return (
        f'{{% extends "{fields.layout}" %}}\n'
        f"{{% block subject %}}{subject}{{% endblock %}}\n"
        f"{{% block message %}}\n{fields.body}{{% endblock %}}\n"
    )


def layout_or_default(name: str) -> str:
    """A layout name as a form posted it, or the standard layout when it is not one."""
    return name if LAYOUT_NAME.fullmatch(name) else EMAIL_LAYOUT


def empty(channel: ChannelName) -> str:
    """The file a new template starts from: for e-mail, the layout with empty fields."""
    return join(channel, Fields(body="")) if channel == "email" else ""


def field_line(channel: ChannelName, fields: Fields, line: int) -> FieldLine | None:
    """Where line `line` of the joined file sits in the fields; None for scaffolding."""
    if channel != "email":
        return FieldLine("body", line)
    if line == 2:
        return FieldLine("subject", 1)
    body_lines = fields.body.count("\n") + 1
    if 4 <= line <= 3 + body_lines:
        return FieldLine("body", line - 3)
    return None
