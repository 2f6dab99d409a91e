"""Signed keyset cursors: what one list made reads back; anything else is refused."""

from __future__ import annotations

import pytest

from groundcontrol.api.cursors import SignedCursors

MINE = SignedCursors(b"k" * 32)


def test_a_cursor_reads_back_its_position() -> None:
    position = ["2026-11-30T10:00:00+00:00", "cb_1"]
    assert MINE.read(MINE.make(position)) == position


@pytest.mark.parametrize(
    "token",
    ["", "no-dot", "a.b.c", "!!!.???", SignedCursors(b"o" * 32).make(["x"])],
)
def test_anything_else_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="not a cursor this service made"):
        MINE.read(token)


def test_a_changed_position_breaks_the_signature() -> None:
    body, signature = MINE.make(["2026-11-30T10:00:00+00:00", "cb_1"]).split(".")
    forged = SignedCursors(b"o" * 32).make(["1970-01-01T00:00:00+00:00", "cb_0"]).split(".")[0]
    with pytest.raises(ValueError, match="not a cursor this service made"):
        MINE.read(f"{forged}.{signature}")
    assert MINE.read(f"{body}.{signature}")


def test_a_signed_non_list_is_refused() -> None:
    with pytest.raises(ValueError, match="not a cursor this service made"):
        MINE.read(MINE.make({"not": "a list"}))  # type: ignore[arg-type]
