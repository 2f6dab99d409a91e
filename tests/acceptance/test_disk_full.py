"""SQLite's disk fills up under the real `groundcontrol serve`: ingest answers 503 with
Retry-After, nothing answered 202 is lost, and it recovers when space returns.

"Full" is the process's file-size limit (RLIMIT_FSIZE, as `ulimit -f` sets it), put on
the running service from outside with `prlimit`: every write past 4 KiB into the
database or its WAL fails in the kernel, as it does on a full disk (Python ignores the
SIGXFSZ that would otherwise kill it). Lifting the limit is space returning.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import aiohttp
import pytest
from tests.peers.service_process import (
    SOURCE_TOKEN,
    ServiceProcess,
    chat_event,
    eventually,
    write_config,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit"),
]
HEADERS = {"Authorization": f"Bearer {SOURCE_TOKEN}"}
NOWHERE = "http://127.0.0.1:9/hook"  # deliveries fail; only ingest matters here


def limit_file_size(pid: int, size: str) -> None:
    subprocess.run(["prlimit", f"--pid={pid}", f"--fsize={size}:"], check=True)


async def test_a_full_disk_answers_503_loses_nothing_and_recovers(tmp_path: Path) -> None:
    database = tmp_path / "groundcontrol.db"
    config = write_config(
        tmp_path / "groundcontrol.toml",
        server={},
        delivery={},
        more={"store": {"url": f"sqlite:///{database}"}},
    )
    service = ServiceProcess(config, name="service")
    await service.start()
    answers: list[tuple[str, int, str | None]] = []
    serial = iter(range(10_000))
    try:
        async with aiohttp.ClientSession() as session:

            async def post() -> int:
                body = chat_event(next(serial), NOWHERE)
                url = f"{service.base_url}/v1/events"
                async with session.post(url, json=body, headers=HEADERS) as response:
                    await response.read()
                    answers.append(
                        (body["id"], response.status, response.headers.get("Retry-After"))
                    )
                    return response.status

            assert [await post() for _ in range(5)] == [202] * 5
            assert service.process is not None
            limit_file_size(service.process.pid, "4096")
            statuses = [await post() for _ in range(20)]
            assert 503 in statuses, statuses
            limit_file_size(service.process.pid, "unlimited")

            async def accepts_again() -> bool:
                return await post() == 202

            await eventually(accepts_again, within=30, what="a 202 after space returned")
    finally:
        await service.stop()
    assert {status for _, status, _ in answers} <= {202, 503}, "no 500 while full"
    assert all(after == "5" for _, status, after in answers if status == 503)
    accepted = {event_id for event_id, status, _ in answers if status == 202}
    with sqlite3.connect(database) as db:
        stored = {row[0] for row in db.execute("SELECT event_id FROM events")}
    assert accepted <= stored, f"accepted but lost: {sorted(accepted - stored)}"
