"""Signing in and out of the studio, and the guard every other studio page sits behind."""

from __future__ import annotations

import functools
import secrets
from urllib.parse import quote

from aiohttp import web

from groundcontrol import keys
from groundcontrol.api.auth import token_matches
from groundcontrol.api.problems import Handler
from groundcontrol.api.storable import read_form
from groundcontrol.studio.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SESSION_PATH,
    Session,
    csrf_token,
    csrf_valid,
    current_session,
    encode_session,
    new_session,
    set_cookie,
    studio_key,
)
from groundcontrol.studio.views import message_page, render_page

routes = web.RouteTableDef()

_SESSION = web.RequestKey[Session]("studio_session")
_LOGIN_NONCE_AGE = 3600


def session_of(request: web.Request) -> Session:
    """The session `studio_page` checked for this request."""
    return request[_SESSION]


def studio_page(handler: Handler) -> Handler:
    """Only for a signed-in marketer; a POST must also carry the session's CSRF token."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        key = studio_key(request)
        if key is None:
            return _disabled(request)
        session = await _live_session(request)
        if session is None:
            if request.method == "GET":
                raise web.HTTPSeeOther(f"/studio/login?next={quote(request.path_qs)}")
            return message_page(
                request, 401, "Signed out", "Your session has ended: sign in again."
            )
        if request.method != "GET":
            form = await read_form(request)
            presented = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
            if not csrf_valid(
                key, session.nonce, presented if isinstance(presented, str) else None
            ):
                return message_page(
                    request,
                    403,
                    "Form expired",
                    "This form is out of date: reload the page and try again.",
                )
        request[_SESSION] = session
        return await handler(request)

    return guarded


@routes.get("/studio")
@routes.get("/studio/")
async def studio_root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/studio/templates")


@routes.get("/studio/login")
async def login_form(request: web.Request) -> web.StreamResponse:
    key = studio_key(request)
    if key is None:
        return _disabled(request)
    return _login_page(request, key, _safe_next(request.query.get("next")))


@routes.post("/studio/login")
async def login(request: web.Request) -> web.StreamResponse:
    key = studio_key(request)
    if key is None:
        return _disabled(request)
    form = await read_form(request)
    target = _safe_next(_text(form.get("next")))
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not csrf_valid(key, f"login:{nonce}", _text(form.get(CSRF_FIELD))):
        return _login_page(request, key, target, "The sign-in form expired: please try again.", 403)
    expected = request.app[keys.SETTINGS].admin.token
    name = " ".join(_text(form.get("name")).split())[:100]
    if expected is None or not token_matches(_text(form.get("token")), expected):
        return _login_page(request, key, target, "That is not the admin token.", 401)
    if not name:
        return _login_page(request, key, target, "Enter your name: version history shows it.", 422)
    session = new_session(name, request.app[keys.CLOCK]())
    response = web.HTTPSeeOther(target)
    set_cookie(
        response,
        SESSION_COOKIE,
        encode_session(key, session),
        int(SESSION_LIFETIME.total_seconds()),
        path=SESSION_PATH,
    )
    response.del_cookie(LOGIN_COOKIE, path="/studio")
    raise response


async def _live_session(request: web.Request) -> Session | None:
    """The cookie's session, unless it expired or was signed out (on any instance)."""
    session = current_session(request)
    if session is None or await request.app[keys.TEMPLATE_STORE].signed_out(session.nonce):
        return None
    return session


@routes.post("/studio/logout")
@studio_page
async def logout(request: web.Request) -> web.StreamResponse:
    # The cookie is only deleted in this browser: a copy of it stays valid until it
    # expires unless the store remembers that this session ended.
    session = session_of(request)
    await request.app[keys.TEMPLATE_STORE].sign_out(
        session.nonce, session.expires_at, request.app[keys.CLOCK]()
    )
    response = web.HTTPSeeOther("/studio/login")
    response.del_cookie(SESSION_COOKIE, path=SESSION_PATH)
    raise response


def _login_page(
    request: web.Request, key: bytes, target: str, error: str | None = None, status: int = 200
) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    response = render_page(
        request,
        "login.html",
        status,
        error=error,
        next=target,
        login_csrf=csrf_token(key, f"login:{nonce}"),
    )
    set_cookie(response, LOGIN_COOKIE, nonce, _LOGIN_NONCE_AGE)
    return response


def _disabled(request: web.Request) -> web.Response:
    return message_page(
        request, 403, "Studio disabled", "Set admin.token in the configuration to use the studio."
    )


def _safe_next(target: str | None) -> str:
    # Only back into the studio or the ops dashboard: never an open redirect elsewhere.
    inside = target and (target.startswith("/studio/") or target.startswith("/ops"))
    if target and inside and not target.startswith("//"):
        return target
    return "/studio/templates"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
