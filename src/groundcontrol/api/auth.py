"""Who is calling: ingest sources (Bearer token or Standard Webhooks signature) and the admin.

Every configured source is checked on every request, so the time an answer takes
does not tell which source came close.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import datetime

from aiohttp import hdrs, web
from pydantic import SecretStr

from groundcontrol import keys, signatures
from groundcontrol.api.problems import Handler, ProblemError
from groundcontrol.settings import SourceSettings

log = logging.getLogger(__name__)

_CHALLENGE: dict[str, str] = {"WWW-Authenticate": "Bearer"}


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    scheme, _, token = headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def token_matches(presented: str, expected: SecretStr) -> bool:
    # Hashing first makes both sides the same length, so the compare leaks no length.
    return hmac.compare_digest(_digest(presented), _digest(expected.get_secret_value()))


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def authenticate_source(
    sources: Mapping[str, SourceSettings],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> str:
    """The name of the source whose token or webhook secret matches; 401 otherwise."""
    token = bearer_token(headers)
    by_token = _match_tokens(sources, token) if token else []
    by_signature = _match_signatures(sources, headers, body, now)
    matched = by_token or by_signature
    if not matched:
        raise ProblemError(
            401,
            detail="send a source's token as 'Authorization: Bearer <token>' "
            "or sign the request as Standard Webhooks",
            headers=_CHALLENGE,
        )
    return matched[0]


def _match_tokens(sources: Mapping[str, SourceSettings], token: str) -> list[str]:
    # A list comprehension, not any(): every token is compared, whichever matches.
    matches = [
        name
        for name, source in sorted(sources.items())
        if source.token is not None and token_matches(token, source.token)
    ]
    return matches


def _match_signatures(
    sources: Mapping[str, SourceSettings],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> list[str]:
    if "webhook-signature" not in headers:
        return []
    return [
        name
        for name, source in sorted(sources.items())
        if source.secret is not None and _signature_matches(name, source.secret, headers, body, now)
    ]


def _signature_matches(
    name: str, secret: SecretStr, headers: Mapping[str, str], body: bytes, now: datetime
) -> bool:
    try:
        key = signatures.decode_secret(secret.get_secret_value())
    except ValueError:
        log.error("sources.%s.secret is not valid: whsec_ must be followed by base64", name)
        return False
    return signatures.matches(key, headers, body, now)


def require_admin(request: web.Request) -> None:
    """403 when no admin token is configured; 401 unless the request carries it."""
    expected = request.app[keys.SETTINGS].admin.token
    if expected is None or not expected.get_secret_value():
        raise ProblemError(403, detail="admin API disabled: set admin.token")
    token = bearer_token(request.headers)
    if token is None or not token_matches(token, expected):
        raise ProblemError(
            401,
            detail="send the admin token as 'Authorization: Bearer <token>'",
            headers=_CHALLENGE,
        )


def admin_only(handler: Handler) -> Handler:
    """Decorate a handler so that only the admin may call it."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        require_admin(request)
        return await handler(request)

    return guarded
