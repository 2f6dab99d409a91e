"""Several `groundcontrol serve` subprocesses on one PostgreSQL schema.

    async with Cluster(tmp_path, schema_url, size=3, delivery={"lease": "3s"}) as cluster:
        await cluster.post_spread([chat_event(i, sink.url) for i in range(60)])
        await cluster.instances[0].kill()    # SIGKILL, mid-run
        await cluster.wait_for_sent(60, timeout=30)
        await cluster.attempts()             # every attempt, with its lease owner

Each instance gets its own port and log file (`tmp_path/instance-N-0.log`); they share the
config file, and the store URL comes in as GC_STORE__URL, as an operator would set it.
`attempts()` and `states()` read the shared schema directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from tests.peers import postgres
from tests.peers.chat_sink import ChatSink
from tests.peers.local_server import Started
from tests.peers.service_process import SOURCE_TOKEN, ServiceProcess, eventually, write_config


@dataclass(frozen=True)
class AttemptRow:
    notification_id: str
    owner: str
    outcome: str

    @property
    def sent(self) -> bool:
        return self.outcome == "sent"


class Instance(ServiceProcess):
    """One `groundcontrol serve` subprocess of a cluster."""

    def __init__(self, number: int, config: Path, store_url: str) -> None:
        env = {"GC_STORE__URL": store_url, "GC_SERVER__PORT": "0"}
        super().__init__(config, name=f"instance-{number}", env=env)
        self.number = number

    async def post(self, session: aiohttp.ClientSession, event: Mapping[str, Any]) -> int:
        """POST one event; the HTTP status."""
        headers = {"Authorization": f"Bearer {SOURCE_TOKEN}"}
        async with session.post(f"{self.base_url}/v1/events", json=event, headers=headers) as r:
            await r.read()
            return r.status


class Cluster(Started):
    """`size` instances sharing one config file and one PostgreSQL schema."""

    def __init__(
        self,
        tmp_path: Path,
        store_url: str,
        *,
        size: int,
        delivery: Mapping[str, object] | None = None,
    ) -> None:
        self.store_url = store_url
        config = write_config(
            tmp_path / "groundcontrol.toml",
            server={"shutdown_grace": "2s"},
            delivery={"poll_interval": "250ms"} | dict(delivery or {}),
            more={"retention": {"days": 0}},
        )
        self.instances = [Instance(n, config, store_url) for n in range(size)]

    async def start(self) -> None:
        try:
            await asyncio.gather(*(instance.start() for instance in self.instances))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await asyncio.gather(*(instance.stop() for instance in self.instances))

    def logs(self) -> str:
        return "\n".join(f"--- instance {i.number}\n{i.log()[-3000:]}" for i in self.instances)

    async def post_spread(self, events: Iterable[Mapping[str, Any]], *, parallel: int = 10) -> None:
        """Post each event to the next running instance in turn; all must answer 202."""
        targets = [instance for instance in self.instances if instance.running]
        gate = asyncio.Semaphore(parallel)
        async with aiohttp.ClientSession() as session:

            async def post(number: int, event: Mapping[str, Any]) -> int:
                async with gate:
                    return await targets[number % len(targets)].post(session, event)

            statuses = await asyncio.gather(*(post(n, e) for n, e in enumerate(events)))
        assert set(statuses) == {202}, f"not every event was accepted: {statuses}"

    # --- the shared store, read directly -----------------------------------------------
    async def _query(self, sql: str) -> list[asyncpg.Record]:
        return await postgres.fetch(self.store_url, sql)

    async def states(self) -> dict[str, int]:
        rows = await self._query("SELECT state, count(*) AS n FROM notifications GROUP BY state")
        return {row["state"]: row["n"] for row in rows}

    async def attempts(self) -> list[AttemptRow]:
        rows = await self._query("SELECT notification_id, owner, outcome FROM attempts ORDER BY id")
        return [AttemptRow(r["notification_id"], r["owner"], r["outcome"]) for r in rows]

    async def wait_for_requests(self, sink: ChatSink, count: int, *, within: float) -> None:
        """Return once `sink` has received `count` requests in total."""
        try:
            await asyncio.wait_for(sink.wait_for(count), timeout=within)
        except TimeoutError:
            raise AssertionError(
                f"the sink got {sink.count} of {count} requests in {within}s; "
                f"states {await self.states()}\n{self.logs()}"
            ) from None

    async def wait_for_sent(self, count: int, *, within: float) -> None:
        async def all_sent() -> bool:
            return (await self.states()).get("sent", 0) >= count

        try:
            await eventually(all_sent, within=within, what=f"{count} notifications sent")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; states {await self.states()}\n{self.logs()}") from exc
