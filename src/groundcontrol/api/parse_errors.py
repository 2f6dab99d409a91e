"""Requests aiohttp cannot parse, answered as RFC 9457 problem+json.

A header over 8,190 bytes, a NUL in a header or a garbage request line fails in
aiohttp's parser, before there is a route: neither `problem_middleware` nor
`on_response_prepare` runs, and `RequestHandler.handle_error` answers text/plain.
aiohttp offers no setting for that answer. `handle_error` is the method
`RequestHandler` names as its error hook, and the `Server` is the protocol factory
that builds the handler, so the hook is confined to this module: a handler
subclass, a server that builds it, and an `AppRunner` whose server is that one.
Everything else (routing, middlewares, signals, shutdown) is aiohttp's own. Two
aiohttp internals are used, `AppRunner._make_server` and `Server._kwargs`; if an
upgrade moves them, tests/integration/test_unparseable_requests.py fails.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus

from aiohttp import web
from aiohttp.http_exceptions import (
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
)
from aiohttp.web_protocol import RequestHandler

from groundcontrol.api.problems import problem

log = logging.getLogger(__name__)

PARSE_ERROR = "urn:groundcontrol:problem:unparseable-request"
# The answer quotes what the client sent: never cached (and, like every problem, never
# sniffed as HTML).
NEVER_CACHED = {"Cache-Control": "no-store"}
_QUOTE_CHARS = 120  # how much of aiohttp's message (which quotes the bad bytes) we echo


def parse_problem(exc: HttpProcessingError) -> web.Response:
    """The problem response for one parser error."""
    status, title, detail = _classify(exc)
    response = problem(status, title, detail, type_=PARSE_ERROR, headers=NEVER_CACHED)
    response.force_close()  # the parser's state is unknown: the connection cannot go on
    return response


def _classify(exc: HttpProcessingError) -> tuple[int, str, str]:
    if isinstance(exc, LineTooLong):
        return _too_long(exc)
    if isinstance(exc, InvalidHeader):
        what = "a header field holds a NUL or another forbidden character"
        return 400, "Invalid header", f"{what} ({_quote(exc.message)})"
    if isinstance(exc, BadStatusLine):  # BadHttpMethod too: bad method or version
        what = "the request line is not 'METHOD target HTTP/1.x'"
        return 400, "Invalid request line", f"{what} ({_quote(exc.message)})"
    if isinstance(exc, InvalidURLError):
        what = "the request target is not a valid URL"
        return 400, "Invalid request target", f"{what} ({_quote(exc.message)})"
    return _llhttp_error(exc.message)


def _llhttp_error(message: str) -> tuple[int, str, str]:
    # llhttp's reasons read "Invalid header value char:\n    b'X-A: a\\x00b'\n    ^":
    # the reason, then the bytes it stopped at, then a caret under them.
    reason, _, rest = message.partition(":")
    where = rest.strip().splitlines()[0].strip() if rest.strip() else ""
    title = "Invalid header" if "header" in reason.lower() else "Malformed request"
    detail = f"{reason.strip()} in {where}" if where else reason.strip()
    return 400, title, f"the request is not valid HTTP/1.1: {_quote(detail)}"


def _too_long(exc: LineTooLong) -> tuple[int, str, str]:
    line, limit = exc.args[0], exc.args[1]
    start = _text(line)[:40]
    # aiohttp raises the same exception for the request target and for a header field;
    # the quoted bytes tell them apart: an origin-form target starts with "/", and no
    # header name can (RFC 9110's token has no "/").
    if start.startswith("/"):
        detail = f"the request target is longer than {limit} bytes (it starts {start!r})"
        return 414, HTTPStatus(414).phrase, detail
    detail = f"a header field is longer than {limit} bytes (it starts {start!r})"
    return 431, HTTPStatus(431).phrase, detail


def _text(line: object) -> str:
    if isinstance(line, bytes | bytearray):
        return bytes(line).decode("latin-1")
    return str(line)


def _quote(message: str) -> str:
    # One line, without llhttp's caret line under the bytes it quotes.
    words = [line.strip() for line in message.splitlines() if line.strip() != "^"]
    message = " ".join(" ".join(words).split())
    if len(message) <= _QUOTE_CHARS:
        return message
    return message[:_QUOTE_CHARS] + "..."


class ProblemRequestHandler(RequestHandler):
    """aiohttp's connection handler, with its error answers as problem+json."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            # A handler crash or timeout that got past the middleware: aiohttp logs
            # it and checks the connection; only the body's format is ours.
            answered = super().handle_error(request, status, exc, message)
            response = problem(answered.status, headers=NEVER_CACHED)
            response.force_close()
            return response
        if request.writer.output_size > 0:
            raise ConnectionError("a response was already sent; cannot answer the error")
        # Hostile or broken clients are routine on a public port: one line, no traceback.
        reason = _quote(exc.message)  # one line: the bytes are the client's
        log.info("refused an unparseable request from %s: %s", request.remote, reason)
        return parse_problem(exc)


class ProblemServer(web.Server):
    """aiohttp's protocol factory, building `ProblemRequestHandler`s."""

    def __call__(self) -> RequestHandler:
        return ProblemRequestHandler(self, loop=asyncio.get_running_loop(), **self._kwargs)


class ProblemAppRunner(web.AppRunner):
    """`web.AppRunner` whose connections answer parser errors as problem+json."""

    async def _make_server(self) -> web.Server:
        # AppRunner builds its Server through the application (startup, freeze,
        # request factory); we keep all of that and only change the factory's class.
        plain = await super()._make_server()
        return ProblemServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **plain._kwargs,
        )
