"""A poison event costs only its sender: the group commit bisects a failing batch.

The poison is real: a trigger in the real store (SQLite or PostgreSQL) refuses any
event whose case id starts with POISON, standing for a failure the edge could not
foresee. Valid and poison requests arrive together over HTTP; every valid one is
accepted and stored, every poison one fails alone, and the failed batch costs one
more transaction, however many poison callers it holds (committing caller by caller
after a failure took one per caller in every failing batch). Latency under such load
is measured in bench/ (`python -m bench --only poison`), not asserted here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite
import asyncpg
import pytest
from sqlalchemy.engine import make_url
from tests.integration.api_harness import SOURCE_TOKEN, Api, event, serve, settings_for
from tests.peers.postgres import postgresql_param, schema_url

from groundcontrol import keys
from groundcontrol.settings import StoreSettings

VALID = 200

SQLITE_TRIGGER = """
CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.case_id LIKE 'POISON%'
BEGIN SELECT RAISE(ABORT, 'poison event'); END
"""
POSTGRES_TRIGGER = [
    """CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.case_id LIKE 'POISON%' THEN RAISE EXCEPTION 'poison event'; END IF;
        RETURN NEW;
    END $$""",
    "CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison()",
]


@pytest.fixture(params=["sqlite", postgresql_param()])
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    if request.param == "sqlite":
        settings = settings_for(tmp_path)
        async with serve(settings) as running:
            async with aiosqlite.connect(tmp_path / "groundcontrol.db") as db:
                await db.execute(SQLITE_TRIGGER)
                await db.commit()
            yield running
        return
    async with (
        schema_url("gc_poison") as url,
        serve(settings_for(tmp_path, store=StoreSettings(url=url))) as running,
    ):
        await _postgres(url, POSTGRES_TRIGGER)
        yield running


async def _postgres(url: str, statements: list[str]) -> None:
    parsed = make_url(url)
    schema = str(parsed.query["search_path"])
    dsn = parsed.difference_update_query(["search_path"]).render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class HeldStore:
    """Counts the store's record_events calls (the group commit's one call) and holds the
    first until every request has reached the ingestor, so they meet in one batch, as a
    backlog does under load."""

    def __init__(self, api: Api, expected: int) -> None:
        self.calls = 0
        self.arrived = 0
        self.everyone_queued = asyncio.Event()
        store, ingestor = api.app[keys.STORE], api.app[keys.INGESTOR]
        self._record: Callable[..., Awaitable[Any]] = store.record_events
        self._record_each: Callable[..., Awaitable[Any]] = store.record_events_each
        self._ingest: Callable[..., Awaitable[Any]] = ingestor.ingest
        self._expected = expected
        store.record_events = self.record_events  # type: ignore[method-assign]
        store.record_events_each = self.record_events_each  # type: ignore[method-assign]
        ingestor.ingest = self.ingest  # type: ignore[method-assign]

    async def ingest(self, events: Any) -> Any:
        self.arrived += 1
        if self.arrived == self._expected:
            self.everyone_queued.set()
        return await self._ingest(events)

    async def record_events(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            await self.everyone_queued.wait()
            await asyncio.sleep(0.05)  # the last arrivals reach the queue
        return await self._record(*args, **kwargs)

    async def record_events_each(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return await self._record_each(*args, **kwargs)


def interleave(valid: list[dict[str, Any]], poison: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One poison request after every len(valid) // len(poison) valid ones."""
    every = len(valid) // len(poison)
    mixed: list[dict[str, Any]] = []
    for n, body in enumerate(valid):
        mixed.append(body)
        if n % every == every // 2:
            mixed.append(poison[n // every])
    return mixed


@pytest.mark.parametrize("poisons", [4, 40])
async def test_poison_events_fail_alone_and_valid_ones_all_commit(api: Api, poisons: int) -> None:
    valid = [event(id=f"evt-{n}", case_id=f"C-{n}") for n in range(VALID)]
    poison = [event(id=f"bad-{n}", case_id=f"POISON-{n}") for n in range(poisons)]
    bodies = interleave(valid, poison)
    held = HeldStore(api, len(bodies))
    url = api.client.make_url("/v1/events")
    headers = {"Authorization": f"Bearer {SOURCE_TOKEN}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def post(body: dict[str, Any]) -> int:
            async with session.post(url, data=json.dumps(body), headers=headers) as response:
                return response.status

        statuses = await asyncio.gather(*(post(body) for body in bodies))
    by_case = {body["case_id"]: status for body, status in zip(bodies, statuses, strict=True)}
    assert [s for c, s in by_case.items() if not c.startswith("POISON")] == [202] * VALID
    assert [s for c, s in by_case.items() if c.startswith("POISON")] == [500] * poisons
    assert len(await api.notifications(limit="1000")) == VALID
    await api.assert_nothing_stored("POISON-0")
    # The first caller alone, the failed batch of everyone else, then that batch once
    # more with each caller under its own savepoint (and the same for a straggler that
    # reached the queue just after it). Caller by caller took one commit each.
    assert held.calls <= 5, f"{held.calls} commits"
