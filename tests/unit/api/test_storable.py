"""What the store can hold: the pure checks behind the edge's 422s."""

from __future__ import annotations

from typing import Any

import pytest

from groundcontrol.api.storable import json_errors, parameter_errors, text_problem, value_problem


@pytest.mark.parametrize("text", ["", "plain", "bücher", "emoji \U0001f680", "\u200b"])
def test_ordinary_text_is_storable(text: str) -> None:
    assert text_problem(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\x00b", "must not contain NUL (U+0000)"),
        ("\ud800", "must not contain a lone surrogate (U+D800)"),
        ("x\udfff", "must not contain a lone surrogate (U+DFFF)"),
    ],
)
def test_nul_and_lone_surrogates_are_named(text: str, message: str) -> None:
    assert text_problem(text) == message


@pytest.mark.parametrize("value", [0, -(2**63), 2**63 - 1, 1.5, True, None])
def test_numbers_within_64_bits_are_storable(value: Any) -> None:
    assert value_problem(value) is None


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, float("inf"), float("nan")])
def test_numbers_past_64_bits_or_not_finite_are_refused(value: Any) -> None:
    assert value_problem(value) is not None


def test_every_bad_value_and_key_is_named_by_its_path() -> None:
    payload = {"a": ["ok", {"b": "\x00"}], "\x00k": 1, "n": 2**64, "fine": {"x": 1}}
    assert {e["field"] for e in json_errors(payload)} == {"a.1.b", "\\u0000k", "n"}


def test_a_bad_top_level_value_is_the_body() -> None:
    assert [e["field"] for e in json_errors("\x00")] == ["body"]


def test_a_deeply_nested_document_does_not_recurse() -> None:
    payload: Any = "\x00"
    for _ in range(10_000):
        payload = [payload]
    assert [e["field"] for e in json_errors(payload)] == [".".join(["0"] * 10_000)]


def test_parameters_are_named_with_their_kind() -> None:
    errors = parameter_errors([("case_id", "C\x00"), ("ok", "fine")], "path")
    assert errors == [{"field": "path case_id", "message": "must not contain NUL (U+0000)"}]
