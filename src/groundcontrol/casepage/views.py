"""`GET /c/{token}`: the customer's case page; `POST /c/{token}`: save their preferences.

No login: the signed token in the link is the key. Every response under /c/ is private
(no caching, no referrer, no indexing, a strict CSP that allows only the page's own
inline style and forms to itself), rate limited per client address and per token, and
every refusal is the same plain 404.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from groundcontrol import keys
from groundcontrol.api.problems import FieldError, problem
from groundcontrol.api.storable import checks_its_own_text
from groundcontrol.casepage.access import NoSuchPage, Opened, open_case
from groundcontrol.casepage.history import CASE_PAGE_REASON, customer_history
from groundcontrol.casepage.limits import WindowLimit
from groundcontrol.casepage.preferences import (
    BadForm,
    Preferences,
    current,
    opt_changes,
    parse_form,
)
from groundcontrol.casepage.words import Words, page_context, page_words
from groundcontrol.errors import TemplateError
from groundcontrol.links import CASE_PAGE_PATH
from groundcontrol.planning.golden_thread import Contact, ContactKind
from groundcontrol.templates.renderer import normalise_locale

routes = web.RouteTableDef()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PAGES = Path(__file__).parent / "pages"
CSS = (PAGES / "case.css").read_text(encoding="utf-8")
LIMIT_WINDOW = timedelta(minutes=10)
NONCE_COOKIE = "gc_case"
CSRF_FIELD = "csrf"
_STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(PAGES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class PageLimits:
    """Requests per client address and per token, each per 10 minutes (docs/case-page.md)."""

    def __init__(self, per_address: WindowLimit, per_token: WindowLimit) -> None:
        self.per_address = per_address
        self.per_token = per_token


def default_limits() -> PageLimits:
    """60 requests per client address and 30 per link, per 10 minutes: plenty for a
    customer, little for someone guessing links or flooding the timeline with views."""
    return PageLimits(
        per_address=WindowLimit(limit=60, window=LIMIT_WINDOW),
        per_token=WindowLimit(limit=30, window=LIMIT_WINDOW),
    )


LIMITS = web.AppKey("case_page_limits", PageLimits)


class TooMany(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def private(handler: Handler) -> Handler:
    """Answer refusals plainly and put the private headers on every response."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except NoSuchPage:
            response = not_found()
        except TooMany as exc:
            response = _plain(429, "Too many requests", "Please try again in a few minutes.")
            response.headers["Retry-After"] = str(exc.retry_after)
        except web.HTTPException as exc:  # e.g. a body over the size limit: a problem
            exc.headers.update(PRIVATE_HEADERS)
            raise
        response.headers.update(PRIVATE_HEADERS)
        return response

    return guarded


@routes.get(CASE_PAGE_PATH)
@checks_its_own_text
@private
async def show(request: web.Request) -> web.StreamResponse:
    """The page. Opening it is a contact (the golden thread): timeline `viewed`, and the
    case's dark stretch ends."""
    opened = await _open(request)
    if request.method == "GET":  # a HEAD (link checkers, previews) shows nobody anything
        viewed = Contact(_now(request), ContactKind.VIEWED)
        await request.app[keys.STORE].record_contact(opened.case.id, viewed)
    notice = "saved" if request.query.get("saved") == "1" else None
    return await _page(request, opened, current(opened.customer), notice=notice)


@routes.post(CASE_PAGE_PATH)
@checks_its_own_text
@private
async def save(request: web.Request) -> web.StreamResponse:
    """Save the preferences; the next message follows them. Then back to the page (303)."""
    opened = await _open(request)
    form = await request.post()
    before = current(opened.customer)
    if not _form_is_ours(request, opened, str(form.get(CSRF_FIELD, ""))):
        return await _page(request, opened, before, notice="form_expired", status=403)
    values = {name: [str(v) for v in form.getall(name, [])] for name in form}
    try:
        after = parse_form(values, before.order)
    except BadForm as exc:
        errors = [FieldError(field=exc.field, message=str(exc))]
        return problem(422, "Invalid preferences", str(exc), errors=errors)
    await _apply(request, opened, before, after)
    return web.Response(status=303, headers={"Location": f"{request.path}?saved=1"})


async def _apply(
    request: web.Request, opened: Opened, before: Preferences, after: Preferences
) -> None:
    store, now, customer_id = request.app[keys.STORE], _now(request), opened.customer.id
    for channel, opted_out in opt_changes(before, after):
        await store.set_opt_out(customer_id, channel, opted_out, CASE_PAGE_REASON, now)
    await store.set_preferences(customer_id, after.order, after.quiet_hours, now)
    request.app[keys.WAKE]()  # a message quiet hours held for them may be due now


async def _open(request: web.Request) -> Opened:
    """The case the token opens, within the rate limits; NoSuchPage or TooMany otherwise."""
    limits, now = request.app[LIMITS], _now(request)
    _count(limits.per_address, request.remote or "unknown", now)
    token = request.match_info["token"]
    app = request.app
    opened = await open_case(token, app[keys.CASE_TOKENS], app[keys.STORE], app[keys.JOURNEYS], now)
    _count(limits.per_token, token, now)
    return opened


def _count(limit: WindowLimit, key: str, now: datetime) -> None:
    if not limit.allow(key, now):
        raise TooMany(limit.retry_after(now))


def _form_is_ours(request: web.Request, opened: Opened, presented: str) -> bool:
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    nonce = request.cookies.get(NONCE_COOKIE, "")
    return request.app[keys.CASE_FORMS].valid(opened.token, nonce, presented)


async def _page(
    request: web.Request,
    opened: Opened,
    prefs: Preferences,
    *,
    notice: str | None = None,
    status: int = 200,
) -> web.Response:
    app, now = request.app, _now(request)
    entries = await app[keys.STORE].timeline(opened.case.id) or []
    quiet = (app[keys.SETTINGS].quiet_hours.start, app[keys.SETTINGS].quiet_hours.end)
    context = page_context(opened.case, opened.customer, now, quiet)
    locale = normalise_locale(opened.customer.locale)
    try:
        words = page_words(
            app[keys.RENDERER], locale, context, customer_history(entries), prefs.order
        )
    except TemplateError:
        # A broken words template is the operator's to fix (groundcontrol check, the
        # studio); the customer gets the plain page rather than an error with details.
        raise NoSuchPage() from None
    nonce = _nonce(request)
    csrf = app[keys.CASE_FORMS].make(opened.token, nonce)
    html = case_html(words, prefs, action=request.path, csrf=csrf, notice=notice)
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    _set_nonce(request, response, nonce)
    return response


def case_html(
    words: Words, prefs: Preferences, *, action: str, csrf: str, notice: str | None = None
) -> str:
    """The page itself (the studio previews the words with it too)."""
    return _ENV.get_template("case.html").render(
        words=words,
        prefs=prefs,
        notice=notice,
        problem=notice == "form_expired",
        action=action,
        csrf=csrf,
        css=Markup(CSS),
    )


def _nonce(request: web.Request) -> str:
    # Keep the browser's nonce: a second tab must not invalidate the first one's form.
    existing = request.cookies.get(NONCE_COOKIE, "")
    return existing if 20 <= len(existing) <= 64 and existing.isascii() else _new_nonce()


def _new_nonce() -> str:
    return secrets.token_urlsafe(24)


def _set_nonce(request: web.Request, response: web.Response, nonce: str) -> None:
    secure = request.secure or request.app[keys.SETTINGS].server.public_url.startswith("https:")
    response.set_cookie(
        NONCE_COOKIE, nonce, path="/c/", secure=secure, httponly=True, samesite="Strict"
    )


def not_found() -> web.Response:
    """The one answer to every bad, tampered, expired or foreign link."""
    return _plain(
        404,
        "Page not found",
        "This link does not work (any more). Your latest message from us has a new one.",
        "Deze link werkt niet (meer). In ons laatste bericht aan je staat een nieuwe.",
    )


def _plain(status: int, title: str, english: str, dutch: str | None = None) -> web.Response:
    context: dict[str, Any] = {
        "title": title,
        "english": english,
        "dutch": dutch or english,
        "css": Markup(CSS),
    }
    html = _ENV.get_template("not_found.html").render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _now(request: web.Request) -> datetime:
    return request.app[keys.CLOCK]()
