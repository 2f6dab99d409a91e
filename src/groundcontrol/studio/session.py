"""Studio sessions and CSRF tokens, signed with a key derived from `admin.token`.

The session cookie is `v1.<base64url(json)>.<base64url(mac)>` holding who signed in,
a random nonce and an expiry. It is Secure, HttpOnly and SameSite=Strict.
Every form carries a CSRF token, the MAC of the session nonce, so a page on
another site can neither read nor forge it. Before login, a short-lived
nonce cookie plays the same role for the login form. Rotating `admin.token`
signs everyone out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from groundcontrol import keys
from groundcontrol.security import derive_key

SESSION_COOKIE = "gc_studio"
LOGIN_COOKIE = "gc_studio_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_LIFETIME = timedelta(hours=12)
_VERSION = "v1"


@dataclass(frozen=True)
class Session:
    """A signed-in marketer: `who` is the name shown in version history."""

    who: str
    nonce: str
    expires_at: datetime


def studio_key(request: web.Request) -> bytes | None:
    """The signing key, or None while no admin token is configured (studio disabled)."""
    token = request.app[keys.SETTINGS].admin.token
    if token is None or not token.get_secret_value():
        return None
    return derive_key(token.get_secret_value(), "studio-session")


def new_session(who: str, now: datetime) -> Session:
    return Session(who=who, nonce=secrets.token_urlsafe(16), expires_at=now + SESSION_LIFETIME)


def encode_session(key: bytes, session: Session) -> str:
    payload = {
        "who": session.who,
        "nonce": session.nonce,
        "exp": int(session.expires_at.timestamp()),
    }
    signed = f"{_VERSION}.{_b64(json.dumps(payload, separators=(',', ':')).encode())}"
    return f"{signed}.{_b64(_mac(key, signed))}"


def decode_session(key: bytes, cookie: str, now: datetime) -> Session | None:
    """The session in a cookie; None when it is forged, malformed or expired."""
    signed, _, mac = cookie.rpartition(".")
    version, _, payload = signed.partition(".")
    if version != _VERSION or not hmac.compare_digest(_unb64(mac), _mac(key, signed)):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = Session(
            who=str(data["who"]),
            nonce=str(data["nonce"]),
            expires_at=datetime.fromtimestamp(int(data["exp"]), tz=now.tzinfo),
        )
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires_at > now else None


def current_session(request: web.Request) -> Session | None:
    key = studio_key(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if key is None or not cookie:
        return None
    return decode_session(key, cookie, request.app[keys.CLOCK]())


def csrf_token(key: bytes, nonce: str) -> str:
    return _b64(_mac(key, f"csrf:{nonce}"))


def csrf_valid(key: bytes, nonce: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(
        (presented or "").encode(), csrf_token(key, nonce).encode()
    )


# The session is the studio's and the ops dashboard's (/ops): one sign-in for both.
SESSION_PATH = "/"


def set_cookie(
    response: web.StreamResponse, name: str, value: str, max_age: int, path: str = "/studio"
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=path, secure=True, httponly=True, samesite="Strict"
    )


def _mac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""
