"""Which status and words each aiohttp parser error gets (the socket-level tests are in
tests/integration/test_unparseable_requests.py)."""

from __future__ import annotations

import json

import pytest
from aiohttp.http_exceptions import (
    BadHttpMessage,
    BadHttpMethod,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
)

from groundcontrol.api.parse_errors import PARSE_ERROR, parse_problem


def answer(exc: HttpProcessingError) -> tuple[int, dict[str, str]]:
    response = parse_problem(exc)
    assert response.content_type == "application/problem+json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert isinstance(response.body, bytes)
    document = json.loads(response.body)
    assert document["type"] == PARSE_ERROR
    assert document["status"] == response.status
    return response.status, document


# aiohttp's C parser passes a bytearray where LineTooLong's signature says str | bytes.
@pytest.mark.parametrize("line", [b"X-Big: " + b"a" * 90, bytearray(b"aaaa"), "Cookie"])
def test_a_long_header_field_is_431(line: bytes | bytearray | str) -> None:
    status, document = answer(LineTooLong(line, 8190))  # type: ignore[arg-type]
    assert status == 431
    assert document["detail"].startswith("a header field is longer than 8190 bytes")


def test_a_long_request_target_is_414() -> None:
    target = bytearray(b"/v1/events?" + b"q" * 90)
    status, document = answer(LineTooLong(target, 8190))  # type: ignore[arg-type]
    assert status == 414
    assert "'/v1/events?qqq" in document["detail"]


@pytest.mark.parametrize(
    ("exc", "title"),
    [
        (InvalidHeader(b"X-A"), "Invalid header"),
        (BadHttpMethod("GE(T"), "Invalid request line"),
        (InvalidURLError("no host"), "Invalid request target"),
        (
            BadHttpMessage("Invalid header value char:\n  b'X-A: \\x00'\n         ^"),
            "Invalid header",
        ),
        (BadHttpMessage("Missing 'Host' header in request."), "Invalid header"),
        (BadHttpMessage("Data after `Connection: close`"), "Malformed request"),
    ],
)
def test_other_parse_errors_are_400_naming_what_was_wrong(
    exc: HttpProcessingError, title: str
) -> None:
    status, document = answer(exc)
    assert (status, document["title"]) == (400, title)
    assert "^" not in document["detail"]
    assert "\n" not in document["detail"]


def test_a_long_message_is_cut() -> None:
    _, document = answer(BadHttpMessage("x" * 1000))
    assert len(document["detail"]) < 200
