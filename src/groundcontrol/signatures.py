"""Standard Webhooks signatures (https://www.standardwebhooks.com/), both directions.

Written out rather than using the `standardwebhooks` package because that package
raises a bare ValueError on malformed headers; here every malformed input is an
`InvalidSignature`, which the API turns into a 401, never a 5xx.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta

from groundcontrol.errors import GroundControlError

TOLERANCE = timedelta(minutes=5)
_PREFIX = "whsec_"


class InvalidSignature(GroundControlError):
    """The webhook signature is missing, malformed, expired or wrong."""


def decode_secret(secret: str) -> bytes:
    """`whsec_<base64>` as the spec says; any other string is used as raw bytes."""
    if secret.startswith(_PREFIX):
        try:
            return base64.b64decode(secret[len(_PREFIX) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("secret after whsec_ must be base64") from exc
    return secret.encode()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message: `v1,<base64 hmac>`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(key: bytes, msg_id: str, now: datetime, body: bytes) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, msg_id, timestamp, body),
    }


def verify(key: bytes, headers: Mapping[str, str], body: bytes, now: datetime) -> str:
    """Check the three headers; return the webhook-id. Raise InvalidSignature otherwise."""
    msg_id = headers.get("webhook-id", "")
    raw_timestamp = headers.get("webhook-timestamp", "")
    raw_signatures = headers.get("webhook-signature", "")
    if not (msg_id and raw_timestamp and raw_signatures):
        raise InvalidSignature("webhook-id, webhook-timestamp and webhook-signature are required")
    timestamp = _parse_timestamp(raw_timestamp)
    if abs(now.timestamp() - timestamp) > TOLERANCE.total_seconds():
        raise InvalidSignature("webhook-timestamp is outside the 5 minute tolerance")
    expected = sign(key, msg_id, timestamp, body).encode()
    # Several space-separated signatures are allowed (key rotation); any match will do.
    for candidate in raw_signatures.split():
        if hmac.compare_digest(candidate.encode(), expected):
            return msg_id
    raise InvalidSignature("no webhook-signature matches")


def matches(key: bytes, headers: Mapping[str, str], body: bytes, now: datetime) -> bool:
    try:
        verify(key, headers, body, now)
    except InvalidSignature:
        return False
    return True


def _parse_timestamp(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise InvalidSignature("webhook-timestamp must be integer seconds since the epoch")
    return int(raw)
