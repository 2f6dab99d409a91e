"""Requests aiohttp's parser refuses are answered as problem+json (issue 17): raw bytes
over a real socket to the app as `groundcontrol serve` runs it (`ProblemAppRunner`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from tests.integration.api_harness import settings_for

from groundcontrol.api.parse_errors import PARSE_ERROR, ProblemAppRunner
from groundcontrol.app import create_app

GOOD_HEADERS = b"Host: 127.0.0.1\r\nAccept: application/json\r\n"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"] == "application/problem+json", self
        document: dict[str, Any] = json.loads(self.body)
        assert document["status"] == self.status
        assert document["type"] == PARSE_ERROR
        return document


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[int]:
    runner = ProblemAppRunner(create_app(settings_for(tmp_path), run_dispatcher=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def exchange(port: int, request: bytes) -> Answer:
    """Send `request` as it is and read the answer until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return Answer(int(status_line.split()[1]), headers, body)


async def test_a_header_line_over_8190_bytes_is_a_431_problem(port: int) -> None:
    big = b"X-Padding: " + b"a" * 9000 + b"\r\n"
    answer = await exchange(port, b"GET /healthz HTTP/1.1\r\n" + GOOD_HEADERS + big + b"\r\n")
    assert answer.status == 431
    assert "header field is longer than 8190 bytes" in answer.problem()["detail"]


async def test_a_request_target_over_8190_bytes_is_a_414_problem(port: int) -> None:
    target = b"/healthz?" + b"q" * 9000
    answer = await exchange(port, b"GET " + target + b" HTTP/1.1\r\n" + GOOD_HEADERS + b"\r\n")
    assert answer.status == 414
    assert "request target is longer than 8190 bytes" in answer.problem()["detail"]


async def test_a_nul_in_a_header_value_is_a_400_problem(port: int) -> None:
    nul = b"X-Trace: ab\x00cd\r\n"
    answer = await exchange(port, b"GET /healthz HTTP/1.1\r\n" + GOOD_HEADERS + nul + b"\r\n")
    assert answer.status == 400
    problem = answer.problem()
    assert problem["title"] == "Invalid header"
    assert "Invalid header value char in b'X-Trace: ab\\x00cd'" in problem["detail"]


@pytest.mark.parametrize(
    "request_line",
    [b"\x16\x03\x01 garbage", b"GE(T / HTTP/1.1", b"GET / HTTP/7.3", b"hello"],
)
async def test_a_garbage_request_line_is_a_400_problem(port: int, request_line: bytes) -> None:
    answer = await exchange(port, request_line + b"\r\n" + GOOD_HEADERS + b"\r\n")
    assert answer.status == 400
    assert answer.problem()["detail"]


async def test_parse_errors_carry_the_security_headers(port: int) -> None:
    # `exchange` reads until the server closes: the connection ends after the answer.
    answer = await exchange(port, b"GET / HTTP/1.1\r\nX-A: \x00\r\n\r\n")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"


async def test_a_good_request_on_the_same_server_is_served_as_usual(port: int) -> None:
    answer = await exchange(
        port, b"GET /healthz HTTP/1.1\r\n" + GOOD_HEADERS + b"Connection: close\r\n\r\n"
    )
    assert answer.status == 200
