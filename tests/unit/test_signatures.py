"""Standard Webhooks signatures: both directions, and nothing but InvalidSignature on
any malformed input."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from groundcontrol.signatures import (
    InvalidSignature,
    decode_secret,
    matches,
    sign,
    signed_headers,
    verify,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
KEY = b"0123456789abcdef0123456789abcdef"
BODY = b'{"id":"evt-1"}'


def headers(**changes: str) -> dict[str, str]:
    return signed_headers(KEY, "msg_1", NOW, BODY) | changes


def test_signed_headers_verify_and_return_the_id() -> None:
    assert verify(KEY, headers(), BODY, NOW) == "msg_1"
    assert matches(KEY, headers(), BODY, NOW)


def test_the_signature_is_the_spec_format() -> None:
    # Test vector from the Standard Webhooks specification.
    key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected


@pytest.mark.parametrize(
    "tampered",
    [
        {"body": b'{"id":"evt-2"}'},
        {"key": b"another key"},
    ],
)
def test_another_body_or_key_does_not_verify(tampered: dict[str, bytes]) -> None:
    with pytest.raises(InvalidSignature, match="no webhook-signature matches"):
        verify(tampered.get("key", KEY), headers(), tampered.get("body", BODY), NOW)


def test_any_of_several_signatures_may_match() -> None:
    good = headers()["webhook-signature"]
    rotated = headers(**{"webhook-signature": f"v1,bm90LXRoaXM= {good}"})
    assert verify(KEY, rotated, BODY, NOW) == "msg_1"


@pytest.mark.parametrize(
    ("offset", "valid"),
    [
        (timedelta(minutes=5), True),
        (timedelta(minutes=-5), True),
        (timedelta(minutes=5, seconds=1), False),
    ],
)
def test_timestamps_are_accepted_within_five_minutes(offset: timedelta, valid: bool) -> None:
    assert matches(KEY, headers(), BODY, NOW + offset) is valid


@pytest.mark.parametrize(
    "broken",
    [
        {"webhook-id": ""},
        {"webhook-timestamp": ""},
        {"webhook-signature": ""},
        {"webhook-timestamp": "soon"},
        {"webhook-timestamp": "-1"},
        {"webhook-timestamp": "1e9"},
        {"webhook-timestamp": "٣٣٣"},  # Arabic-Indic digits pass str.isdigit
        {"webhook-timestamp": "9" * 40},
        {"webhook-signature": "v1,"},
        {"webhook-signature": "v1,!!!not base64"},
        {"webhook-signature": "garbage"},
        {"webhook-signature": "\u00e9\u00e9"},
    ],
)
def test_malformed_headers_raise_only_invalid_signature(broken: dict[str, str]) -> None:
    with pytest.raises(InvalidSignature):
        verify(KEY, headers(**broken), BODY, NOW)


def test_missing_headers_are_invalid() -> None:
    with pytest.raises(InvalidSignature, match="are required"):
        verify(KEY, {}, BODY, NOW)


def test_whsec_secrets_are_base64_decoded() -> None:
    raw = b"\x00\x01secret bytes"
    assert decode_secret("whsec_" + base64.b64encode(raw).decode()) == raw


def test_other_secrets_are_used_as_bytes() -> None:
    assert decode_secret("plain-secret") == b"plain-secret"


def test_a_whsec_secret_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValueError, match="must be base64"):
        decode_secret("whsec_not*base64")
