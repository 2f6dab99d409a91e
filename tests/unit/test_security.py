"""Unsubscribe tokens, key derivation and constant-time comparison."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from groundcontrol.domain import CHANNELS, ChannelName
from groundcontrol.errors import GroundControlError
from groundcontrol.security import (
    InvalidToken,
    UnsubscribeTokens,
    constant_time_equals,
    derive_key,
)

KEY = derive_key("a configured secret", "unsubscribe")
TOKENS = UnsubscribeTokens(KEY)
URL_SAFE = re.compile(r"[A-Za-z0-9_.-]+")


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("customer_id", ["cust-42", "ü/ñ:ï?&=#", "a" * 300])
def test_round_trip(customer_id: str, channel: ChannelName) -> None:
    token = TOKENS.make(customer_id, channel)
    assert URL_SAFE.fullmatch(token)
    assert token.startswith("v1.")
    assert TOKENS.read(token) == (customer_id, channel)


def test_tokens_are_deterministic_per_customer_and_channel() -> None:
    assert TOKENS.make("cust-42", "email") == TOKENS.make("cust-42", "email")
    assert TOKENS.make("cust-42", "email") != TOKENS.make("cust-42", "sms")
    assert TOKENS.make("cust-42", "email") != TOKENS.make("cust-43", "email")


def test_every_single_character_change_is_refused() -> None:
    token = TOKENS.make("cust-42", "email")
    for position in range(len(token)):
        for replacement in "A_.-0":
            if token[position] == replacement:
                continue
            tampered = token[:position] + replacement + token[position + 1 :]
            with pytest.raises(InvalidToken):
                TOKENS.read(tampered)


def test_a_forged_payload_with_a_copied_mac_is_refused() -> None:
    _, _, mac = TOKENS.make("cust-42", "email").split(".")
    _, payload, _ = TOKENS.make("cust-43", "email").split(".")
    with pytest.raises(InvalidToken):
        TOKENS.read(f"v1.{payload}.{mac}")


def test_another_key_is_refused_until_it_is_listed_as_previous() -> None:
    old = UnsubscribeTokens(derive_key("old secret", "unsubscribe"))
    token = old.make("cust-42", "sms")
    with pytest.raises(InvalidToken):
        TOKENS.read(token)
    rotated = UnsubscribeTokens(KEY, previous_keys=[derive_key("old secret", "unsubscribe")])
    assert rotated.read(token) == ("cust-42", "sms")
    assert rotated.make("cust-42", "sms") == TOKENS.make("cust-42", "sms")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        ".",
        "..",
        "v1",
        "v1.",
        "v1..",
        "v2.ZW1haWw6Y3VzdC00Mg.AAAA",
        "v1.ZW1haWw6Y3VzdC00Mg",
        "v1.!!!.???",
        "v1.ZW1haWw6Y3VzdC00Mg==.AAAA",
        "v1.%00.%ff",
        "v1.\x00\x01.\n",
        "é" * 50,
        "v1." + "A" * 10_000,
        "null",
        "v1.ZW1haWw6Y3VzdC00Mg.1uabwDt8BOPCp7j0X6F2y7QCqh7xOXAP5xi-T9b521U.extra",
    ],
)
def test_garbage_is_invalid_token_and_nothing_else(garbage: str) -> None:
    with pytest.raises(InvalidToken) as caught:
        TOKENS.read(garbage)
    assert isinstance(caught.value, GroundControlError)
    assert str(caught.value) == "The link is invalid or has been tampered with."


def test_a_signed_payload_naming_an_unknown_channel_is_invalid() -> None:
    # Made with the real key, so only the payload check can refuse it.
    forged = _sign_raw(b"fax:cust-42")
    with pytest.raises(InvalidToken):
        TOKENS.read(forged)
    with pytest.raises(InvalidToken):
        TOKENS.read(_sign_raw(b"email:"))
    with pytest.raises(InvalidToken):
        TOKENS.read(_sign_raw(b"email:\xff\xfe"))
    assert TOKENS.read(_sign_raw(b"email:cust-42")) == ("cust-42", "email")


def test_an_empty_key_or_customer_is_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        UnsubscribeTokens(b"")
    with pytest.raises(ValueError, match="customer_id"):
        TOKENS.make("", "email")


def test_derived_keys_differ_per_purpose_and_secret() -> None:
    assert derive_key("s", "unsubscribe") == derive_key("s", "unsubscribe")
    assert derive_key("s", "unsubscribe") != derive_key("s", "sessions")
    assert derive_key("s", "unsubscribe") != derive_key("t", "unsubscribe")
    assert len(derive_key("s", "unsubscribe")) == 32


def test_constant_time_equals() -> None:
    assert constant_time_equals("token-é", "token-é")
    assert not constant_time_equals("token", "token2")
    assert not constant_time_equals("token", "")


def _sign_raw(payload: bytes) -> str:
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    signed = f"v1.{encoded}"
    mac = hmac.new(KEY, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
