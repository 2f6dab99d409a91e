"""PostgreSQL goes away under load and comes back: the service rides through.

The store is the real PostgreSQL behind a loopback TCP proxy the test cuts (open
connections reset, new ones refused, as during a restart) and restores. The shared
server itself is never restarted: other suites use it at the same time.
While it is away ingest answers 503 with Retry-After and /readyz is red; nothing
that was answered 202 is lost; once it is back the service recovers by itself.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from tests.integration.api_harness import Api, event, serve, settings_for
from tests.peers.postgres import POSTGRES_URL, fetch, schema_url
from tests.peers.tcp_proxy import TcpProxy

from groundcontrol.settings import StoreSettings

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason="no PostgreSQL")]


@dataclass
class Load:
    """Posters sending fresh events until stopped; every answer is kept."""

    api: Api
    answers: list[tuple[str, int, str | None]] = field(default_factory=list)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    _serial: itertools.count[int] = field(default_factory=itertools.count)

    async def poster(self) -> None:
        while not self.stopped.is_set():
            n = next(self._serial)
            response = await self.api.post_event(event(id=f"evt-{n}", case_id=f"C-{n}"))
            await response.read()
            self.answers.append((f"evt-{n}", response.status, response.headers.get("Retry-After")))
            self.answered.set()
            await asyncio.sleep(0.01)

    def statuses_since(self, start: int) -> set[int]:
        return {status for _, status, _ in self.answers[start:]}

    async def until(self, status: int, within: float = 20.0) -> None:
        start = len(self.answers)
        async with asyncio.timeout(within):
            while status not in self.statuses_since(start):
                self.answered.clear()
                await self.answered.wait()


@pytest.fixture
async def proxied(tmp_path: Path) -> AsyncIterator[tuple[Api, TcpProxy, str]]:
    async with schema_url("gc_restart") as url:
        real = make_url(url)
        async with TcpProxy(real.port or 5432, real.host or "127.0.0.1") as proxy:
            through = real.set(host="127.0.0.1", port=proxy.port)
            store = StoreSettings(url=through.render_as_string(hide_password=False))
            async with serve(settings_for(tmp_path, store=store)) as api:
                yield api, proxy, url


async def test_postgresql_restarted_under_load(proxied: tuple[Api, TcpProxy, str]) -> None:
    api, proxy, real_url = proxied
    load = Load(api)
    posters = [asyncio.create_task(load.poster()) for _ in range(4)]
    try:
        await load.until(202)
        await proxy.cut()
        await load.until(503)
        ready = await api.client.get("/readyz")
        assert ready.status == 503
        await asyncio.sleep(1.0)  # down for a while, still under load
        proxy.restore()
        await load.until(202)
        await load.until(202)  # and keeps accepting
    finally:
        load.stopped.set()
        await asyncio.gather(*posters)
    assert (await api.client.get("/readyz")).status == 200
    assert {status for _, status, _ in load.answers} <= {202, 503}, "no 500 during the outage"
    assert all(after == "5" for _, status, after in load.answers if status == 503)
    accepted = {event_id for event_id, status, _ in load.answers if status == 202}
    stored = {row["event_id"] for row in await fetch(real_url, "SELECT event_id FROM events")}
    assert accepted <= stored, f"accepted but lost: {sorted(accepted - stored)}"
