"""Side-by-side diffs a marketer can read: before on the left, after on the right,
line for line, wrapped; an e-mail compares its subject and its message separately
when both versions fit the simple editor, so layout tags never show."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from itertools import zip_longest

from groundcontrol.domain import ChannelName
from groundcontrol.studio.fields import split

CONTEXT = 3


@dataclass(frozen=True)
class DiffRow:
    kind: str  # "same" | "changed" | "removed" | "added" | "gap"
    before_line: int | None = None
    before: str | None = None
    after_line: int | None = None
    after: str | None = None


@dataclass(frozen=True)
class Section:
    """The diff of one part: "Subject", "Message" or the whole "Template"."""

    name: str
    rows: list[DiffRow]

    @property
    def changed(self) -> bool:
        return any(row.kind != "same" for row in self.rows)


def sections(channel: ChannelName, before: str, after: str) -> list[Section]:
    """The changes from `before` to `after`, per field when both versions have fields."""
    old, new = split(channel, before), split(channel, after)
    if old is None or new is None:
        return [Section("Template", side_by_side(before, after))]
    parts = [("Message", old.body, new.body)]
    if channel == "email":
        parts.insert(0, ("Subject", old.subject, new.subject))
    return [Section(name, side_by_side(a, b)) for name, a, b in parts]


def side_by_side(before: str, after: str, context: int = CONTEXT) -> list[DiffRow]:
    """Rows pairing each line before with its line after; unchanged stretches longer
    than `context` lines on either side of a change are folded into a "gap" row."""
    a, b = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    rows: list[DiffRow] = []
    for group in matcher.get_grouped_opcodes(context):
        if rows:
            rows.append(DiffRow("gap"))
        for tag, i1, i2, j1, j2 in group:
            rows += _rows(tag, a, range(i1, i2), b, range(j1, j2))
    return rows


def _rows(tag: str, a: list[str], left: range, b: list[str], right: range) -> list[DiffRow]:
    if tag == "equal":
        return [DiffRow("same", i + 1, a[i], j + 1, b[j]) for i, j in zip(left, right, strict=True)]
    rows = []
    for i, j in zip_longest(left, right):
        kind = "changed" if i is not None and j is not None else "removed" if j is None else "added"
        rows.append(
            DiffRow(
                kind,
                None if i is None else i + 1,
                None if i is None else a[i],
                None if j is None else j + 1,
                None if j is None else b[j],
            )
        )
    return rows
