"""Case-page link tokens: one case and its customer, signed; everything else refused."""

from __future__ import annotations

import re

import pytest

from groundcontrol.links import case_url
from groundcontrol.security import CaseTokens, InvalidToken, UnsubscribeTokens, derive_key, seal

KEY = derive_key("a configured secret", "case-page")
TOKENS = CaseTokens(KEY)
URL_SAFE = re.compile(r"[A-Za-z0-9_.-]+")


@pytest.mark.parametrize(
    ("case_id", "customer_id"),
    [("C-1001", "cust-42"), ("ü/ñ:ï?&=#", "a b"), ("c" * 200, "d" * 200)],
)
def test_round_trip(case_id: str, customer_id: str) -> None:
    token = TOKENS.make(case_id, customer_id)
    assert URL_SAFE.fullmatch(token)
    assert TOKENS.read(token) == (case_id, customer_id)


def test_a_typical_link_is_short_enough_for_a_text_message() -> None:
    url = case_url("https://updates.example.com/", TOKENS.make("C-1001", "cust-42"))
    assert url.startswith("https://updates.example.com/c/v1.")
    assert len(url) < 90


def test_every_single_character_change_is_refused() -> None:
    token = TOKENS.make("C-1001", "cust-42")
    for position in range(len(token)):
        for replacement in "A_.-0":
            if token[position] != replacement:
                with pytest.raises(InvalidToken):
                    TOKENS.read(token[:position] + replacement + token[position + 1 :])


def test_a_payload_of_another_case_with_a_copied_mac_is_refused() -> None:
    _, _, mac = TOKENS.make("C-1001", "cust-42").split(".")
    _, payload, _ = TOKENS.make("C-1002", "cust-42").split(".")
    with pytest.raises(InvalidToken):
        TOKENS.read(f"v1.{payload}.{mac}")


def test_a_rotated_key_refuses_every_old_link() -> None:
    old = CaseTokens(derive_key("the old secret", "case-page")).make("C-1001", "cust-42")
    with pytest.raises(InvalidToken):
        TOKENS.read(old)


def test_an_unsubscribe_token_is_no_case_link_even_from_the_same_secret() -> None:
    unsubscribe = UnsubscribeTokens(derive_key("a configured secret", "unsubscribe"))
    with pytest.raises(InvalidToken):
        TOKENS.read(unsubscribe.make("cust-42", "email"))


def test_a_full_length_mac_is_refused_where_a_short_one_is_expected() -> None:
    with pytest.raises(InvalidToken):
        TOKENS.read(seal(KEY, b"C-1001\ncust-42"))


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        ".",
        "..",
        "v1..",
        "v2.QzEwMDEKY3VzdC00Mg.AAAAAAAAAAAAAAAAAAAAAA",
        "not a token",
        "v1.%%%.%%%",
        "v1.QzEwMDE.AAAAAAAAAAAAAAAAAAAAAA",
        "ü" * 10,
        "v1." + "A" * 5000 + ".AAAA",
        "A" * 100_000,
    ],
)
def test_garbage_and_very_long_tokens_are_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        TOKENS.read(garbage)


@pytest.mark.parametrize(("case_id", "customer_id"), [("", "cust-42"), ("C-1", "")])
def test_an_empty_case_or_customer_cannot_be_signed(case_id: str, customer_id: str) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        TOKENS.make(case_id, customer_id)


@pytest.mark.parametrize("payload", [b"C-1001", b"C-1001\n", b"\ncust-42", b"a\nb\nc", b"\xff\n1"])
def test_a_signed_payload_that_names_no_case_and_customer_is_refused(payload: bytes) -> None:
    with pytest.raises(InvalidToken):
        TOKENS.read(seal(KEY, payload, mac_bytes=16))


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        CaseTokens(b"")
