"""A chat webhook receiver on 127.0.0.1 for tests and benchmarks.

It records what arrives and answers as scripted, request by request::

    async with ChatSink() as sink:
        sink.script(Reply(status=503, retry_after="7"), Reply())  # then the default
        ...post to sink.url...
        await sink.wait_for(2)
        sink.requests[0].headers["webhook-id"]

Built on aiohttp's low-level server (no router, no middlewares) so a benchmark
measures the sender, not the sink.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from tests.peers.local_server import Started, listen_locally

from groundcontrol.signatures import InvalidSignature, verify


@dataclass(frozen=True)
class Reply:
    """How the sink answers one request."""

    status: int = 200
    retry_after: str | None = None  # Retry-After header value, as sent
    location: str | None = None  # Location header, for redirects
    delay: float = 0.0  # seconds before answering: a slow receiver
    hang: bool = False  # never answer (until the sink stops)


@dataclass(frozen=True)
class Received:
    """One request as the sink saw it."""

    path: str
    headers: Mapping[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    signature_valid: bool | None  # None when the sink has no key to check with


class ChatSink(Started):
    """Records webhook POSTs; answers from a script, then with the default reply.

    With `signing_key`, every request is verified with groundcontrol.signatures.verify
    (at `now()`) and a bad signature is answered 401, as a real receiver would.
    """

    def __init__(
        self,
        default: Reply | None = None,
        *,
        signing_key: bytes | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        record: bool = True,
    ) -> None:
        self.default = default or Reply()
        self.requests: list[Received] = []
        self.count = 0
        self._record = record
        self._signing_key = signing_key
        self._now = now
        self._script: deque[Reply] = deque()
        self._arrived = asyncio.Condition()
        self._release = asyncio.Event()
        self._runner: web.ServerRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return self.url_for("/hook")

    def url_for(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order."""
        self._script.extend(replies)

    async def wait_for(self, count: int) -> None:
        """Return once `count` requests have arrived in total."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: self.count >= count)

    async def start(self) -> None:
        self._runner = web.ServerRunner(web.Server(self._handle), shutdown_timeout=0.1)
        self.port = await listen_locally(self._runner)

    async def stop(self) -> None:
        self._release.set()  # let hanging handlers finish so shutdown does not wait
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        valid = self._check_signature(request, body)
        await self._note(
            Received(request.path, dict(request.headers), body, time.monotonic(), valid)
        )
        reply = self._script.popleft() if self._script else self.default
        if reply.hang:
            await self._release.wait()
        elif reply.delay:
            await asyncio.sleep(reply.delay)
        if valid is False:
            return web.Response(status=401)
        return web.Response(status=reply.status, headers=_headers(reply))

    def _check_signature(self, request: web.BaseRequest, body: bytes) -> bool | None:
        if self._signing_key is None:
            return None
        try:
            verify(self._signing_key, request.headers, body, self._now())
        except InvalidSignature:
            return False
        return True

    async def _note(self, received: Received) -> None:
        if self._record:
            self.requests.append(received)
        async with self._arrived:
            self.count += 1
            self._arrived.notify_all()


def _headers(reply: Reply) -> dict[str, str]:
    headers = {}
    if reply.retry_after is not None:
        headers["Retry-After"] = reply.retry_after
    if reply.location is not None:
        headers["Location"] = reply.location
    return headers
