"""Small cryptographic helpers: signed link tokens (unsubscribe, case page), key derivation,
safe compares."""

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
_SHORT_MAC = 16  # bytes: 128 bits, as HMAC truncation guidance allows


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
        return seal(self._key, f"{channel}:{customer_id}".encode())

    def read(self, token: str) -> tuple[str, ChannelName]:
        """The (customer_id, channel) a token was made for; InvalidToken otherwise."""
        return _parse_payload(unseal(self._keys, token))


class CaseTokens:
    """Tokens of case-page links, naming one case and its customer, signed with
    HMAC-SHA256 (truncated to 128 bits, so the link stays short enough for an SMS).

    There are no previous keys: rotating the key invalidates every link already sent,
    which is the way to revoke them all. The token never expires by itself: the page
    refuses it 30 days after the case closed (a fact of the store, not of the token).
    """

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the case link key must not be empty")
        self._key = key

    def make(self, case_id: str, customer_id: str) -> str:
        if not case_id or not customer_id:
            raise ValueError("case_id and customer_id must not be empty")
        return seal(self._key, f"{case_id}\n{customer_id}".encode(), mac_bytes=_SHORT_MAC)

    def read(self, token: str) -> tuple[str, str]:
        """The (case_id, customer_id) a token was made for; InvalidToken otherwise."""
        raw = unseal((self._key,), token, mac_bytes=_SHORT_MAC)
        case_id, newline, customer_id = _text(raw).partition("\n")
        if not (case_id and newline and customer_id) or "\n" in customer_id:
            raise InvalidToken()
        return case_id, customer_id


class FormTokens:
    """CSRF tokens for a form behind a link token: the MAC of the link token and a
    per-browser nonce kept in a SameSite=Strict cookie (signed double submit), so another
    site can neither read nor forge the pair."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the form key must not be empty")
        self._key = key

    def make(self, link_token: str, nonce: str) -> str:
        return _encode(_mac(self._key, f"{link_token}\n{nonce}"))

    def valid(self, link_token: str, nonce: str, presented: str) -> bool:
        if not nonce or not presented:
            return False
        return constant_time_equals(presented, self.make(link_token, nonce))


def seal(key: bytes, payload: bytes, *, mac_bytes: int = 32) -> str:
    """`v1.<base64url(payload)>.<base64url(mac)>`: readable, but not forgeable."""
    signed = f"{_VERSION}.{_encode(payload)}"
    return f"{signed}.{_encode(_mac(key, signed)[:mac_bytes])}"


def unseal(keys: Sequence[bytes], token: str, *, mac_bytes: int = 32) -> bytes:
    """The payload of a token `seal` made with one of `keys`; InvalidToken otherwise."""
    if len(token) > _MAX_TOKEN_CHARS or not token.isascii():
        raise InvalidToken()
    signed, _, mac = token.rpartition(".")
    version, _, payload = signed.partition(".")
    given = _decode(mac)
    if version != _VERSION or len(given) != mac_bytes:
        raise InvalidToken()
    if not any(hmac.compare_digest(given, _mac(key, signed)[:mac_bytes]) for key in keys):
        raise InvalidToken()
    return _decode(payload)


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise InvalidToken() from exc


def _parse_payload(raw: bytes) -> tuple[str, ChannelName]:
    text = _text(raw)
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
