"""`groundcontrol serve` as a real subprocess, for crash, shutdown and outage tests.

    async with ChatSink(signing_key=CHAT_KEY) as sink:
        service = GroundControl(tmp_path, delivery={"concurrency": 20})
        await service.start()
        accepted = await service.post_events([chat_event(i, sink.url) for i in range(10)])
        await service.kill()                # SIGKILL: no chance to clean up
        await service.start()               # same SQLite file, same config

The process itself is tests/peers/service_process.py: it logs to `tmp_path/service-N.log`
(one file per start), which `GroundControl.log()` returns for assertion messages. The
store is a SQLite file in `tmp_path`; `store_rows` reads it directly, e.g. to see what
was in flight at a kill.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
from tests.peers.service_process import (
    ADMIN_TOKEN,
    CHAT_KEY,
    SOURCE_TOKEN,
    ServiceProcess,
    chat_event,
    eventually,
    received_by_case,
    write_config,
)

__all__ = ["CHAT_KEY", "GroundControl", "chat_event", "eventually", "received_by_case"]


class GroundControl(ServiceProcess):
    """One service configuration in `tmp_path` on a SQLite file, started and stopped as a
    subprocess; HTTP calls to its APIs; its store read directly."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        delivery: Mapping[str, object] | None = None,
        shutdown_grace: str = "10s",
    ) -> None:
        self.database = tmp_path / "groundcontrol.db"
        config = write_config(
            tmp_path / "groundcontrol.toml",
            server={"port": 0, "shutdown_grace": shutdown_grace},
            delivery={"poll_interval": "200ms"} | dict(delivery or {}),
            more={"store": {"url": f"sqlite:///{self.database}"}},
        )
        super().__init__(config, name="service")

    # --- HTTP -------------------------------------------------------------------------
    async def post_events(
        self, events: Iterable[Mapping[str, Any]], *, parallel: int = 20
    ) -> list[str]:
        """Post every event (`parallel` at a time); the case ids answered 202."""
        gate = asyncio.Semaphore(parallel)
        headers = {"Authorization": f"Bearer {SOURCE_TOKEN}"}
        async with aiohttp.ClientSession(headers=headers) as session:

            async def post(event: Mapping[str, Any]) -> str | None:
                async with gate, session.post(f"{self.base_url}/v1/events", json=event) as answer:
                    return str(event["case_id"]) if answer.status == 202 else None

            answers = await asyncio.gather(*(post(event) for event in events))
        return [case_id for case_id in answers if case_id is not None]

    async def admin(
        self, method: str, path: str, *, json_body: object = None, expect: int = 200
    ) -> Any:
        """An admin API call; asserts the status and returns the decoded JSON."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.request(method, self.base_url + path, json=json_body) as answer,
        ):
            body = await answer.text()
            assert answer.status == expect, f"{method} {path}: {answer.status} {body}"
            return json.loads(body)

    async def notifications(self, **query: str) -> list[dict[str, Any]]:
        """`GET /v1/notifications` with this filter (up to 1000)."""
        params = "&".join(f"{key}={value}" for key, value in ({"limit": "1000"} | query).items())
        return list((await self.admin("GET", f"/v1/notifications?{params}"))["notifications"])

    async def notification(self, notification_id: str) -> dict[str, Any]:
        return dict(await self.admin("GET", f"/v1/notifications/{notification_id}"))

    async def timeline(self, case_id: str) -> list[dict[str, Any]]:
        return list((await self.admin("GET", f"/v1/cases/{case_id}/timeline"))["entries"])

    async def wait_for_state(self, state: str, count: int, *, within: float) -> None:
        """Return once `count` notifications are in `state`."""

        async def reached() -> bool:
            return len(await self.notifications(state=state)) >= count

        await eventually(reached, within=within, what=f"{count} notifications {state}")

    # --- store ------------------------------------------------------------------------
    def store_rows(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows from the SQLite store, read directly (only while the service is down)."""
        with sqlite3.connect(self.database) as connection:
            return connection.execute(query, params).fetchall()
