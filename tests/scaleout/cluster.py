"""Several `groundcontrol serve` subprocesses on one PostgreSQL schema.

    async with Cluster(tmp_path, schema_url, size=3, delivery={"lease": "3s"}) as cluster:
        await cluster.post_spread([chat_event(i, sink.url) for i in range(60)])
        cluster.instances[0].kill()          # SIGKILL, mid-run
        await cluster.wait_for_sent(60, timeout=30)
        await cluster.attempts()             # every attempt, with its lease owner

Each instance gets its own port and log file (`tmp_path/instance-N.log`); they share the
config file, and the store URL comes in as GC_STORE__URL, as an operator would set it.
`attempts()` and `states()` read the shared schema directly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url
from tests.peers.chat_sink import ChatSink

from groundcontrol.signatures import decode_secret

REPO = Path(__file__).resolve().parents[2]
SOURCE_TOKEN = "scaleout-source-token"
ADMIN_TOKEN = "scaleout-admin-token"
CHAT_SECRET = "whsec_" + base64.b64encode(b"scaleout-chat-signing-key-0123").decode()
CHAT_KEY = decode_secret(CHAT_SECRET)
START_TIMEOUT = 30.0
_LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)")


def chat_event(number: int, webhook: str) -> dict[str, Any]:
    """Event `number` opens its own case for its own customer, reachable by chat only."""
    return {
        "id": f"evt-{number:05d}",
        "case_id": f"C-{number:05d}",
        "status": "received",
        "occurred_at": "2026-11-22T10:00:00Z",
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


def webhook_ids_by_case(sink: ChatSink) -> dict[str, list[str]]:
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
    """Poll `check` until true: for what only another process decides."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(every)


@dataclass(frozen=True)
class AttemptRow:
    notification_id: str
    owner: str
    outcome: str

    @property
    def sent(self) -> bool:
        return self.outcome == "sent"


class Instance:
    """One `groundcontrol serve` subprocess."""

    def __init__(self, number: int, config: Path, store_url: str, log_path: Path) -> None:
        self.number = number
        self.config = config
        self.store_url = store_url
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    async def start(self) -> None:
        env = _clean_env() | {"GC_STORE__URL": self.store_url, "GC_SERVER__PORT": "0"}
        with self.log_path.open("wb") as log:
            # Popen returns at once; nothing here waits for the child.
            self.process = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", "groundcontrol", "serve", "--config", str(self.config)],
                cwd=self.config.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.base_url = await self._address()
        await eventually(self._ready, within=START_TIMEOUT, what=f"instance {self.number} ready")

    async def _address(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.log())
            if found:
                return f"http://{found[1]}:{found[2]}"
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"instance {self.number} exited at start:\n{self.log()}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"instance {self.number} did not listen:\n{self.log()}")

    async def _ready(self) -> bool:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.base_url}/readyz") as response,
        ):
            return response.status == 200

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, leases stay held until they expire."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within a few seconds."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, 15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def post(self, session: aiohttp.ClientSession, event: Mapping[str, Any]) -> int:
        """POST one event; the HTTP status."""
        headers = {"Authorization": f"Bearer {SOURCE_TOKEN}"}
        async with session.post(f"{self.base_url}/v1/events", json=event, headers=headers) as r:
            await r.read()
            return r.status


class Cluster:
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
        config = tmp_path / "groundcontrol.toml"
        config.write_text(_config_text(tmp_path, delivery or {}))
        self.instances = [
            Instance(n, config, store_url, tmp_path / f"instance-{n}.log") for n in range(size)
        ]

    async def __aenter__(self) -> Cluster:
        try:
            await asyncio.gather(*(instance.start() for instance in self.instances))
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

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
        url = make_url(self.store_url)
        schema = url.query["search_path"]
        dsn = url.difference_update_query(["search_path"]).render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn, server_settings={"search_path": str(schema)})
        try:
            return list(await connection.fetch(sql))
        finally:
            await connection.close()

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


def _config_text(tmp_path: Path, delivery: Mapping[str, object]) -> str:
    sections: dict[str, Mapping[str, object]] = {
        "server": {"host": "127.0.0.1", "shutdown_grace": "2s"},
        "templates": {"dir": REPO / "templates"},
        "journeys": {"file": REPO / "config" / "journeys.toml"},
        "admin": {"token": ADMIN_TOKEN},
        "sources.crm": {"token": SOURCE_TOKEN},
        "channels.chat": {"signing_secret": CHAT_SECRET, "allow_private_networks": True},
        "delivery": {"outbox_dir": tmp_path / "outbox", "poll_interval": "250ms"} | dict(delivery),
        "quiet_hours": {"enabled": False},  # the wall clock must not defer anything
        "retention": {"days": 0},
    }
    return "\n".join(_section(name, values) for name, values in sections.items())


def _section(name: str, values: Mapping[str, object]) -> str:
    lines = [f"[{name}]"] + [f"{key} = {_toml_value(v)}" for key, v in values.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _clean_env() -> dict[str, str]:
    # GC_* from the developer's shell must not change what the test configures.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GC_")}
    return env | {"GC_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
