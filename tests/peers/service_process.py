"""`groundcontrol serve` as a real subprocess, as an operator runs it.

    config = write_config(tmp_path / "groundcontrol.toml", delivery={"lease": "3s"})
    service = ServiceProcess(config, name="service")
    await service.start()        # returns once /readyz answers
    await service.kill()         # SIGKILL: dies between any two instructions
    await service.start()        # the same config again, logging to a new file

Each start logs to `<config dir>/<name>-<start number>.log`; `log()` is the current one,
for assertion messages. The service listens on a port it picks; `base_url` says where.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
from tests.peers.chat_sink import ChatSink

from groundcontrol.signatures import decode_secret

REPO = Path(__file__).resolve().parents[2]
SOURCE_TOKEN = "test-source-token"
ADMIN_TOKEN = "test-admin-token"
CHAT_SECRET = "whsec_" + base64.b64encode(b"test-chat-signing-key-01234567").decode()
CHAT_KEY = decode_secret(CHAT_SECRET)
START_TIMEOUT = 30.0
_LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)")

Sections = Mapping[str, Mapping[str, object]]


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


def write_config(
    path: Path,
    *,
    server: Mapping[str, object],
    delivery: Mapping[str, object],
    more: Sections | None = None,
) -> Path:
    """A config file for a chat-only service on 127.0.0.1, with the repository's templates
    and journeys; `server` and `delivery` add to the defaults, `more` adds sections."""
    sections: dict[str, Mapping[str, object]] = {
        "server": {"host": "127.0.0.1"} | dict(server),
        "templates": {"dir": REPO / "templates"},
        "journeys": {"file": REPO / "config" / "journeys.toml"},
        "admin": {"token": ADMIN_TOKEN},
        "sources.crm": {"token": SOURCE_TOKEN},
        "channels.chat": {"signing_secret": CHAT_SECRET, "allow_private_networks": True},
        "delivery": {"outbox_dir": path.parent / "outbox"} | dict(delivery),
        "quiet_hours": {"enabled": False},  # the wall clock must not defer anything
    }
    sections |= more or {}
    path.write_text("\n".join(_section(name, values) for name, values in sections.items()))
    return path


def _section(name: str, values: Mapping[str, object]) -> str:
    lines = [f"[{name}]"] + [f"{key} = {_toml_value(v)}" for key, v in values.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


class ServiceProcess:
    """One `groundcontrol serve --config <config>` subprocess, which may start many times."""

    def __init__(
        self,
        config: Path,
        *,
        name: str,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.name = name
        self.env = dict(env or {})
        self.process: asyncio.subprocess.Process | None = None
        self.base_url = ""
        self.starts = 0
        self._log_path = config.parent / f"{name}-0.log"

    async def start(self) -> None:
        """Start the service and return once /readyz answers."""
        assert not self.running, f"{self.name} is already running"
        self._log_path = self.config.parent / f"{self.name}-{self.starts}.log"
        self.starts += 1
        with self._log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "groundcontrol", "serve", "--config", str(self.config)),
                cwd=self.config.parent,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=_service_env() | self.env,
            )
        self.base_url = await self._address()
        await eventually(self._ready, within=START_TIMEOUT, what=f"{self.name} /readyz")

    async def _address(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.log())
            if found:
                return f"http://{found[1]}:{found[2]}"
            if not self.running:
                raise AssertionError(f"{self.name} exited at start:\n{self.log()}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} did not listen within {START_TIMEOUT}s:\n{self.log()}")

    async def _ready(self) -> bool:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.base_url}/readyz") as response,
        ):
            return response.status == 200

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill(self) -> None:
        """SIGKILL: no graceful shutdown; its leases stay held until they expire."""
        process = self._started()
        process.send_signal(signal.SIGKILL)
        await process.wait()

    def terminate(self) -> None:
        """SIGTERM: ask for a graceful shutdown; see `exit_code`."""
        self._started().send_signal(signal.SIGTERM)

    async def exit_code(self) -> int:
        """The exit code, once the process has exited (wrap in asyncio.timeout)."""
        return await self._started().wait()

    async def stop(self, grace: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `grace` seconds."""
        if not self.running:
            return
        self.terminate()
        try:
            await asyncio.wait_for(self.exit_code(), timeout=grace)
        except TimeoutError:
            await self.kill()

    async def close(self) -> None:
        """Kill the service if a failed test left it running."""
        if self.running:
            await self.kill()

    def _started(self) -> asyncio.subprocess.Process:
        assert self.process is not None, f"{self.name} was never started"
        return self.process

    def log(self) -> str:
        return self._log_path.read_text(errors="replace") if self._log_path.exists() else ""


def _service_env() -> dict[str, str]:
    # GC_* from the developer's shell must not change what the test configures.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GC_")}
    return env | {"GC_LOGGING__LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
