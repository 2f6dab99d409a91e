"""Template problems in a marketer's words.

The renderer speaks Jinja ("Expected an expression, got 'end of statement block'",
"'dict object' has no attribute 'eta'"); the studio says what is wrong, with the
field and the sample: "`case.data.eta` is missing in sample received; use
`{% if case.data.eta %}` or a default". Code is between backticks; the page shows
it as code. `groundcontrol check` keeps the exact Jinja words for developers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from groundcontrol.domain import ChannelName
from groundcontrol.studio.drafts import Problem
from groundcontrol.studio.fields import Fields, field_line

_FIELD_NAMES = {"subject": "Subject", "body": "Message", "source": "Line"}

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], str], str]]


@dataclass(frozen=True)
class Shown:
    """A problem as the editor shows it: in words, at the field and line it is on."""

    text: str
    field: str = ""  # "subject" | "body" | "source" (advanced editor) | "" (not in the draft)
    line: int | None = None

    @property
    def where(self) -> str:
        """ "Subject", "Message, line 3", "Line 3"."""
        if not self.field or self.line is None:
            return ""
        if self.field == "subject":
            return "Subject"
        if self.field == "source":
            return f"Line {self.line}"
        return f"{_FIELD_NAMES[self.field]}, line {self.line}"


def shown(problem: Problem, source: str, channel: ChannelName, fields: Fields | None) -> Shown:
    """`problem` in words, placed in the simple editor's `fields`, or at its line of
    the whole template when the advanced editor is open (`fields` None)."""
    lines = source.splitlines()
    line = problem.line
    line_text = lines[line - 1] if line and line <= len(lines) else ""
    text = explain(problem.message, line_text, problem.sample)
    if line is None:
        return Shown(text)
    if fields is None:
        return Shown(text, "source", line)
    at = field_line(channel, fields, line)
    return Shown(text, at.field, at.line) if at else Shown(text)


def explain(message: str, line_text: str = "", sample: str | None = None) -> str:
    """`message` (a renderer problem, without its line) in plain words; `line_text` is
    the template line it is on, `sample` the sample case it failed for."""
    for pattern, say in _RULES:
        match = pattern.search(message)
        if match:
            return _in_sample(say(match, line_text), sample)
    plain = message.removeprefix("syntax error: ").removeprefix("undefined variable: ")
    return _in_sample(plain[:1].upper() + plain[1:], sample)


def _in_sample(text: str, sample: str | None) -> str:
    """Put the sample where the sentence says `{sample}`, else after it."""
    if "{sample}" in text:
        return text.replace(" {sample}", f" in sample {sample}" if sample else "")
    return f"{text} (in sample {sample})" if sample else text


def _missing_attribute(match: re.Match[str], line_text: str) -> str:
    name, owner = match["name"], match["owner"]
    path = _path_ending(line_text, name) or name
    if owner == "None":
        parent = path.rpartition(".")[0] or path
        return f"`{parent}` is empty {{sample}}, so it has no `{name}`"
    if owner not in ("dict object", "Undefined"):
        return (
            f"`{path}` does not exist: `{path.rpartition('.')[0]}` is text, not a group of fields"
        )
    return (
        f"`{path}` is missing {{sample}}; use `{{% if {path} %}}…{{% endif %}}` or a default: "
        f'`{{{{ {path} | default("…") }}}}`'
    )


def _path_ending(line_text: str, name: str) -> str | None:
    """The dotted name in the line that ends in `name`: "eta" -> "case.data.eta"."""
    key = re.escape(name)
    found = re.search(rf"\b([A-Za-z_][\w.]*)(?:\.{key}\b|\[['\"]{key}['\"]\])", line_text)
    return f"{found[1]}.{name}" if found else None


def _unknown_name(match: re.Match[str], line_text: str) -> str:
    return (
        f"`{match['name']}` is not a field messages know; pick one from "
        f"“Insert a field” (such as `customer.first_name` or `case.id`)"
    )


def _unclosed_block(match: re.Match[str], line_text: str) -> str:
    tag = match["tag"]
    return f"A `{{% {tag} %}}` is never closed: add `{{% end{tag} %}}` where its part ends"


def _unknown_tag(match: re.Match[str], line_text: str) -> str:
    tag = match["tag"]
    if tag.startswith("end"):
        return f"`{{% {tag} %}}` closes a `{{% {tag[3:]} %}}` that is not open here"
    if tag in ("else", "elif"):
        return f"`{{% {tag} %}}` belongs inside an `{{% if %}}` … `{{% endif %}}`"
    return f"`{{% {tag} %}}` is not something a message can use"


_RULES: list[_Rule] = [
    (
        re.compile(r"'(?P<owner>[^']+)' has no attribute '(?P<name>[^']+)'"),
        _missing_attribute,
    ),
    (re.compile(r"'(?P<name>[^']+)' is undefined"), _unknown_name),
    (
        re.compile(r"Expected an expression, got 'end of statement block'"),
        lambda m, line: "A `{% … %}` tag is missing what it should test or show before `%}`",
    ),
    (
        re.compile(r"The innermost block that needs to be closed is '(?P<tag>\w+)'"),
        _unclosed_block,
    ),
    (
        re.compile(r"expected 'end of print statement'|unexpected '}'|unexpected end of template"),
        lambda m, line: "A field is not closed: every `{{` needs a matching `}}`",
    ),
    (re.compile(r"Encountered unknown tag '(?P<tag>\w+)'"), _unknown_tag),
    (
        re.compile(r"No filter named '(?P<name>[^']+)'"),
        lambda m, line: f"There is no `{m['name']}` filter: try `default`, `date` or `upper`",
    ),
    (
        re.compile(r"not allowed in a template: (?P<detail>.*)"),
        lambda m, line: f"Messages may not do this: {m['detail'].rstrip('.')}",
    ),
    (
        re.compile(r"output exceeds the cap of (?P<n>\d+) characters"),
        lambda m, line: f"The message is longer than the limit of {m['n']} characters",
    ),
    (
        re.compile(r"template (?P<name>\S+) does not exist"),
        lambda m, line: f"The template `{m['name']}` does not exist",
    ),
    (
        re.compile(r"is not an ISO 8601 date|expected a date, datetime or ISO 8601"),
        lambda m, line: "The `date` filter needs a date like 2026-11-25, and got something else",
    ),
]
