"""Unsubscribe links (RFC 8058 one-click).

`POST /v1/unsubscribe/{token}` opts the customer out of the token's channel, with no
cookie or login: mail clients send `List-Unsubscribe=One-Click` there. `GET` only
shows a confirmation page whose button makes that POST, because mail scanners and
link previewers follow every link in a message and must not unsubscribe anyone.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from groundcontrol import keys
from groundcontrol.api.problems import problem
from groundcontrol.domain import ChannelName
from groundcontrol.links import UNSUBSCRIBE_PATH
from groundcontrol.security import InvalidToken

routes = web.RouteTableDef()

PATH = UNSUBSCRIBE_PATH
REASON = "unsubscribe link"

_CHANNEL_WORDS: dict[ChannelName, str] = {
    "email": "e-mail",
    "sms": "text message",
    "chat": "chat",
}
# The token is in the URL: keep it out of caches, search indexes and Referer headers.
_PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


@routes.get(PATH)
async def confirm_page(request: web.Request) -> web.Response:
    """A page asking to confirm; it changes nothing."""
    try:
        _, channel = request.app[keys.UNSUBSCRIBE].read(request.match_info["token"])
    except InvalidToken as exc:
        return _invalid(exc)
    words = _CHANNEL_WORDS[channel]
    return _page(
        "Unsubscribe",
        f"<p>Stop receiving case updates by {words}?</p>"
        '<form method="post">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">Unsubscribe from {words} updates</button>'
        "</form>",
    )


@routes.post(PATH)
async def one_click(request: web.Request) -> web.Response:
    """Opt the customer out of the token's channel (RFC 8058)."""
    try:
        customer_id, channel = request.app[keys.UNSUBSCRIBE].read(request.match_info["token"])
    except InvalidToken as exc:
        return _invalid(exc)
    now = request.app[keys.CLOCK]()
    await request.app[keys.STORE].set_opt_out(customer_id, channel, True, REASON, now)
    words = _CHANNEL_WORDS[channel]
    return _page(
        "Unsubscribed",
        f"<p>You are unsubscribed: you will get no more case updates by {words}.</p>",
    )


def _invalid(exc: InvalidToken) -> web.Response:
    return problem(404, "Unknown unsubscribe link", str(exc), headers=_PRIVATE_HEADERS)


def _page(title: str, body: str) -> web.Response:
    html = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n</head>\n"
        f"<body>\n<main>\n<h1>{escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )
    return web.Response(
        text=html, content_type="text/html", charset="utf-8", headers=_PRIVATE_HEADERS
    )
