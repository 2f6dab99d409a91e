"""Opaque keyset cursors: a page's position as JSON, signed so a tampered cursor is
refused (a 422 naming `cursor`), never run as a query."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Annotated, Any

from pydantic import Field

from groundcontrol.security import derive_key
from groundcontrol.settings import Settings

NOT_OURS = "not a cursor this service made: start again without it"

# A page of a keyset listing (`GET /v1/cases`, `GET /v1/callbacks`): its query fields.
PAGE_DEFAULT, PAGE_MAX = 50, 500
PageLimit = Annotated[int, Field(ge=1, le=PAGE_MAX)]
CursorText = Annotated[str, Field(max_length=2000)]


class SignedCursors:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def make(self, position: list[Any]) -> str:
        body = json.dumps(position).encode()
        return f"{_b64(body)}.{_b64(self._sign(body))}"

    def read(self, token: str) -> list[Any]:
        """The position in `token`; ValueError if it was not made here."""
        try:
            body_part, signature = token.split(".")
            body = _unb64(body_part)
            if not hmac.compare_digest(_unb64(signature), self._sign(body)):
                raise ValueError("bad signature")
            position = json.loads(body)
        except (ValueError, TypeError) as exc:
            raise ValueError(NOT_OURS) from exc
        if not isinstance(position, list):
            raise ValueError(NOT_OURS)
        return position

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:16]


def signed_cursors(settings: Settings, purpose: str) -> SignedCursors:
    """Cursors keyed by the server's secret (or the admin token) for one `purpose`, so a
    cursor of one list is not a cursor of another."""
    secret = settings.server.secret_key or settings.admin.token
    # No secret at all means no admin token: the admin routes answer 401 before any cursor.
    return SignedCursors(derive_key(secret.get_secret_value() if secret else "", purpose))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
