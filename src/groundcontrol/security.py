"""Small cryptographic helpers: signed unsubscribe tokens, key derivation, safe compares."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from groundcontrol.domain import CHANNELS, ChannelName
from groundcontrol.errors import GroundControlError

_VERSION = "v1"
_MAX_TOKEN_CHARS = 2048


class InvalidToken(GroundControlError):
    """The link is invalid or has been tampered with."""


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose from one secret: HMAC-SHA256(secret, purpose).

    Separate purposes get independent keys, so a token signed for one use never
    verifies for another even when both come from the same configured secret."""
    return hmac.new(secret.encode(), f"groundcontrol/{purpose}".encode(), hashlib.sha256).digest()


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two secrets without leaking, through timing, how much of them matched."""
    return hmac.compare_digest(a.encode(), b.encode())


class UnsubscribeTokens:
    """URL-safe tokens naming a customer and a channel, signed with HMAC-SHA256.

    Format: `v1.<base64url(channel:customer_id)>.<base64url(mac)>`. The version prefix
    lets the format change later; `previous_keys` keeps links in already-sent mail
    working after the key rotates. Unsubscribe links do not expire: RFC 8058 expects
    them to work for as long as the message may be read.
    """

    def __init__(self, key: bytes, *, previous_keys: Sequence[bytes] = ()) -> None:
        if not key:
            raise ValueError("the unsubscribe key must not be empty")
        self._key = key
        self._keys = (key, *previous_keys)

    def make(self, customer_id: str, channel: ChannelName) -> str:
        """The token for opting `customer_id` out of `channel`."""
        if not customer_id:
            raise ValueError("customer_id must not be empty")
        signed = f"{_VERSION}.{_encode(f'{channel}:{customer_id}'.encode())}"
        return f"{signed}.{_encode(_mac(self._key, signed))}"

    def read(self, token: str) -> tuple[str, ChannelName]:
        """The (customer_id, channel) a token was made for; InvalidToken otherwise."""
        if len(token) > _MAX_TOKEN_CHARS or not token.isascii():
            raise InvalidToken()
        signed, _, mac = token.rpartition(".")
        version, _, payload = signed.partition(".")
        if version != _VERSION or not self._verifies(signed, mac):
            raise InvalidToken()
        return _parse_payload(payload)

    def _verifies(self, signed: str, mac: str) -> bool:
        given = _decode(mac)
        return any(hmac.compare_digest(given, _mac(key, signed)) for key in self._keys)


def _parse_payload(payload: str) -> tuple[str, ChannelName]:
    try:
        text = _decode(payload).decode()
    except UnicodeDecodeError as exc:
        raise InvalidToken() from exc
    channel, _, customer_id = text.partition(":")
    for known in CHANNELS:
        if channel == known and customer_id:
            return customer_id, known
    raise InvalidToken()


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode(), hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken() from exc
    # One spelling per token: no padding, no stray characters, no spare bits set.
    if _encode(raw) != text:
        raise InvalidToken()
    return raw
