"""Processes under test: the service (`groundcontrol serve`), its ingest-only variant,
peers, and Apprise. Each is a subprocess on loopback, so no load generator or peer
shares the service's event loop."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
SOURCE_TOKEN = "bench-token"
SIGNING_SECRET = "whsec_" + base64.b64encode(b"bench-signing-key-0123456789ab").decode()
POSTGRES = os.environ.get("GC_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1/test")


def postgres_url(schema: str) -> str:
    return f"{POSTGRES}?search_path={schema}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Peer:
    """A peer subprocess (see bench/peer.py)."""

    kind: str
    delay: float = 0.0
    port: int = 0
    stats_port: int = 0
    process: subprocess.Popen[str] | None = None

    def start(self) -> Peer:
        command = [sys.executable, "-m", "bench.peer", self.kind, "--delay", str(self.delay)]
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        ports = json.loads(self.process.stdout.readline())
        self.port, self.stats_port = ports["port"], ports["stats"]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stats(self) -> dict[str, Any]:
        """count, and the first and last arrival times (epoch seconds)."""
        stats: dict[str, Any] = await _get_json(f"http://127.0.0.1:{self.stats_port}/stats")
        return stats

    async def arrivals(self) -> dict[str, float]:
        """When each case id first arrived (epoch seconds)."""
        arrived: dict[str, float] = await _get_json(f"http://127.0.0.1:{self.stats_port}/arrivals")
        return arrived

    async def wait_for(self, count: int, within: float) -> dict[str, Any]:
        """Poll until `count` messages arrived (or `within` seconds passed); the last stats."""
        deadline = time.monotonic() + within
        while True:
            stats = await self.stats()
            if stats["count"] >= count or time.monotonic() > deadline:
                return stats
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        _terminate(self.process)

    def __enter__(self) -> Peer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


@dataclass
class Service:
    """`groundcontrol serve` (or the ingest-only launcher) as a subprocess."""

    store_url: str
    workdir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    ingest_only: bool = False
    profile: Path | None = None  # write a pyinstrument text profile here at stop
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready_after: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def command(self) -> list[str]:
        module = ["bench.ingest_only"] if self.ingest_only else ["groundcontrol.cli", "serve"]
        if self.profile is None:
            return [sys.executable, "-m", *module]
        profiler = ["-m", "pyinstrument", "-r", "text", "--show-all", "-o", str(self.profile)]
        return [sys.executable, *profiler, "-m", *module]

    def environment(self) -> dict[str, str]:
        self.port = self.port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GC_")}
        env.update(
            {
                "GC_SERVER__PORT": str(self.port),
                "GC_SERVER__PUBLIC_URL": f"http://127.0.0.1:{self.port}",
                "GC_SERVER__SECRET_KEY": "bench-secret",
                "GC_STORE__URL": self.store_url,
                "GC_SOURCES__BENCH__TOKEN": SOURCE_TOKEN,
                "GC_CHANNELS__CHAT__SIGNING_SECRET": SIGNING_SECRET,
                "GC_CHANNELS__CHAT__ALLOW_PRIVATE_NETWORKS": "true",
                "GC_QUIET_HOURS__ENABLED": "false",
                "GC_DELIVERY__OUTBOX_DIR": str(self.workdir / "outbox"),
                "GC_LOGGING__LEVEL": "WARNING",
            }
        )
        env.update(self.env)
        return env

    async def start(self, within: float = 120.0) -> Service:
        self._spawn()
        await self._wait_ready(within)
        self.ready_after = time.monotonic() - self.started_at
        return self

    def _spawn(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        with (self.workdir / f"service-{self.port}.log").open("ab") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                self.command(), cwd=REPO, env=env, stderr=log, stdout=log
            )

    async def _wait_ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"service exited early; see {self.workdir}")
                try:
                    async with session.get(f"{self.url}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.02)
        raise TimeoutError(f"service not ready after {within}s")

    def peak_rss_mb(self) -> float:
        """VmHWM: the highest resident set size the process reached."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    def stop(self) -> None:
        _terminate(self.process, timeout=30)


def _terminate(process: subprocess.Popen[Any] | None, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.json()
