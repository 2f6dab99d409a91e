"""`groundcontrol serve` as a real subprocess, for crash, shutdown and outage tests.

    async with ChatSink(signing_key=CHAT_KEY) as sink:
        service = GroundControl(tmp_path, delivery={"concurrency": 20})
        await service.start()
        accepted = await service.post_events([chat_event(i, sink.url) for i in range(10)])
        await service.kill()                # SIGKILL: no chance to clean up
        await service.start()               # same SQLite file, same config

The service writes its log to `tmp_path/service-N.log` (one file per start), which
`GroundControl.log()` returns for assertion messages. The store is a SQLite file in
`tmp_path`; `store_rows` reads it directly, e.g. to see what was in flight at a kill.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
from tests.peers.chat_sink import ChatSink

from groundcontrol.signatures import decode_secret

REPO = Path(__file__).resolve().parents[2]
SOURCE_TOKEN = "acceptance-source-token"
ADMIN_TOKEN = "acceptance-admin-token"
CHAT_SECRET = "whsec_" + base64.b64encode(b"acceptance-chat-key-0123456789").decode()
CHAT_KEY = decode_secret(CHAT_SECRET)
START_TIMEOUT = 20.0
_LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)")


def chat_event(number: int, webhook: str, *, status: str = "received") -> dict[str, Any]:
    """Event `number` for its own case and customer, who is reachable by chat only."""
    return {
        "id": f"evt-{number:05d}",
        "case_id": f"C-{number:05d}",
        "status": status,
        "occurred_at": "2026-11-22T10:00:00Z",
        "priority": "normal",
        "customer": {
            "id": f"cust-{number:05d}",
            "name": f"Customer {number}",
            "chat_webhook": webhook,
            "locale": "en",
            "timezone": "UTC",
            "channels": ["chat"],
        },
        "data": {"case_title": "Address change", "eta": "2026-11-25"},
    }


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _section(name: str, values: Mapping[str, object]) -> str:
    lines = [f"[{name}]"] + [f"{key} = {_toml_value(v)}" for key, v in values.items()]
    return "\n".join(lines) + "\n"


class GroundControl:
    """One service configuration in `tmp_path`, started and stopped as a subprocess."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        delivery: Mapping[str, object] | None = None,
        shutdown_grace: str = "10s",
    ) -> None:
        self.tmp_path = tmp_path
        self.database = tmp_path / "groundcontrol.db"
        self.config = tmp_path / "groundcontrol.toml"
        self.config.write_text(self._config_text(delivery or {}, shutdown_grace))
        self.process: asyncio.subprocess.Process | None = None
        self.base_url = ""
        self.starts = 0
        self._log_path = tmp_path / "service-0.log"

    def _config_text(self, delivery: Mapping[str, object], shutdown_grace: str) -> str:
        sections: dict[str, Mapping[str, object]] = {
            "server": {"host": "127.0.0.1", "port": 0, "shutdown_grace": shutdown_grace},
            "store": {"url": f"sqlite:///{self.database}"},
            "templates": {"dir": REPO / "templates"},
            "journeys": {"file": REPO / "config" / "journeys.toml"},
            "admin": {"token": ADMIN_TOKEN},
            "sources.crm": {"token": SOURCE_TOKEN},
            "channels.chat": {"signing_secret": CHAT_SECRET, "allow_private_networks": True},
            "delivery": {"outbox_dir": self.tmp_path / "outbox", "poll_interval": "200ms"}
            | dict(delivery),
            "quiet_hours": {"enabled": False},  # the wall clock decides otherwise
        }
        return "\n".join(_section(name, values) for name, values in sections.items())

    # --- process ----------------------------------------------------------------------
    async def start(self) -> None:
        """Start `python -m groundcontrol serve` and return once /readyz answers."""
        assert self.process is None or self.process.returncode is not None, "already running"
        self._log_path = self.tmp_path / f"service-{self.starts}.log"
        self.starts += 1
        with self._log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "groundcontrol", "serve", "--config", str(self.config)),
                cwd=self.tmp_path,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=_service_env(),
            )
        self.base_url = await self._address()
        await self._ready()

    async def _address(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.log())
            if found:
                return f"http://{found[1]}:{found[2]}"
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(f"service exited at start:\n{self.log()}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"service did not listen within {START_TIMEOUT}s:\n{self.log()}")

    async def _ready(self) -> None:
        async def ready() -> bool:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{self.base_url}/readyz") as response,
            ):
                return response.status == 200

        await eventually(ready, within=START_TIMEOUT, what="/readyz")

    async def kill(self) -> None:
        """SIGKILL: the process dies between any two instructions, as in a crash."""
        process = self._running()
        process.send_signal(signal.SIGKILL)
        await process.wait()

    def terminate(self) -> None:
        """SIGTERM: ask for a graceful shutdown; see `wait_exit`."""
        self._running().send_signal(signal.SIGTERM)

    async def exit_code(self) -> int:
        """The exit code, once the process has exited (wrap in asyncio.timeout)."""
        return await self._running().wait()

    async def close(self) -> None:
        """Kill the service if a failed test left it running."""
        if self.process is not None and self.process.returncode is None:
            await self.kill()

    def _running(self) -> asyncio.subprocess.Process:
        assert self.process is not None, "the service was never started"
        return self.process

    def log(self) -> str:
        return self._log_path.read_text(errors="replace") if self._log_path.exists() else ""

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


def _service_env() -> dict[str, str]:
    # GC_* from the developer's shell must not change what the test configures.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GC_")}
    return env | {"GC_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}


def received_by_case(sink: ChatSink) -> dict[str, list[str]]:
    """The `webhook-id` of every request the sink received, per case, in arrival order."""
    received: dict[str, list[str]] = {}
    for request in sink.requests:
        assert request.signature_valid, "the chat sink received a badly signed request"
        case_id = json.loads(request.body)["case_id"]
        received.setdefault(case_id, []).append(request.headers["webhook-id"])
    return received


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, every: float = 0.1
) -> None:
    """Poll `check` until it is true. For things only another process decides."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(every)
