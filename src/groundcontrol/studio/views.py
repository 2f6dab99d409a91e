"""Server-rendered studio pages: one jinja2 environment over `studio/pages/`.

The studio's own pages are trusted code, so they use a plain (autoescaping)
environment, not the message sandbox.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2
from aiohttp import web
from babel import Locale, UnknownLocaleError
from markupsafe import Markup, escape

from groundcontrol.studio.session import csrf_token, current_session, studio_key

# srcdoc previews inherit this policy: email HTML may use inline styles and remote
# images, never scripts (and the iframe sandbox forbids them as well).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https:; frame-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("groundcontrol.studio", "pages"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_CODE = re.compile(r"`([^`]+)`")


def code_spans(text: str) -> Markup:
    """Plain words with `code` between backticks, as HTML (everything else escaped)."""
    return Markup(_CODE.sub(r"<code>\1</code>", str(escape(text))))


def language(tag: str, default: str = "en") -> str:
    """ "nl" -> "Dutch"; "" (the default words) -> "English (default)"."""
    name = _language_name(tag or default)
    return name if tag else f"{name} (default)"


def _language_name(tag: str) -> str:
    try:
        return Locale.parse(tag, sep="-").get_display_name("en") or tag
    except (ValueError, UnknownLocaleError):
        return tag


_UNIT = re.compile(r"(\d) (s|min|h|days|times)\b")


def keep_units(text: str) -> str:
    """ "48 h" never breaks between the number and its unit."""
    return _UNIT.sub("\\1\u00a0\\2", text)


_ENV.filters["code_spans"] = code_spans
_ENV.filters["keep_units"] = keep_units
_ENV.filters["language"] = language


def render_page(
    request: web.Request, template: str, status: int = 200, **context: Any
) -> web.Response:
    """A studio page as an HTML response, with the session's CSRF token in reach."""
    session = current_session(request)
    key = studio_key(request)
    csrf = csrf_token(key, session.nonce) if session and key else ""
    html = _ENV.get_template(template).render(
        csrf=csrf, who=session.who if session else None, **context
    )
    return web.Response(
        text=html, status=status, content_type="text/html", headers=SECURITY_HEADERS
    )


def message_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    return render_page(request, "message.html", status, title=title, message=message)
