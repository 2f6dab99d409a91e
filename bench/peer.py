"""Peers as separate processes: `python -m bench.peer KIND [--delay S]`.

KIND is `chat` (a webhook sink), `smtp` (aiosmtpd), `sms` (tests/peers TwilioPeer),
`raw` (the ingest ceiling: a bare aiohttp server that parses the event JSON and
answers 202) or `durable` (the durable ceiling: the same server, answering 202 only
once one writer thread has group-committed the event to SQLite, WAL, synchronous=FULL,
as Ground Control does). Each prints one JSON line `{"port": P, "stats": S}` and serves
`GET /stats` and `GET /arrivals` on port S: how many messages arrived, and when
(`time.time()`) each bench case id (`bench-N`) arrived. SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

CASE_ID = re.compile(rb"bench-\d+")
_BACKGROUND: set[asyncio.Task[None]] = set()


class Arrivals:
    """Arrival times by case id; the first arrival of a case counts."""

    def __init__(self) -> None:
        self.count = 0
        self.first: dict[str, float] = {}

    def note(self, content: bytes) -> None:
        now = time.time()
        self.count += 1
        match = CASE_ID.search(content)
        if match is not None:
            self.first.setdefault(match.group().decode(), now)

    def routes(self) -> list[web.RouteDef]:
        async def stats(_: web.Request) -> web.Response:
            times = self.first.values()
            return web.json_response(
                {
                    "count": self.count,
                    "first": min(times, default=None),
                    "last": max(times, default=None),
                }
            )

        async def arrivals(_: web.Request) -> web.Response:
            return web.json_response(self.first)

        return [web.get("/stats", stats), web.get("/arrivals", arrivals)]


async def _serve_low_level(
    handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
) -> int:
    runner = web.ServerRunner(web.Server(handler), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    return int(runner.addresses[0][1])


async def chat_sink(arrivals: Arrivals, delay: float) -> int:
    """A webhook receiver that answers 200 after `delay` seconds."""

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        arrivals.note(await request.read())
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=200)

    return await _serve_low_level(handle)


async def raw_ingest(arrivals: Arrivals, delay: float) -> int:
    """The ceiling: parse the same JSON and answer 202 with a small JSON body."""

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        event = json.loads(await request.read())
        arrivals.count += 1
        body = json.dumps({"event_id": event["id"], "duplicate": False})
        return web.Response(status=202, text=body, content_type="application/json")

    return await _serve_low_level(handle)


async def durable_ingest(arrivals: Arrivals, delay: float) -> int:
    """The durable ceiling: `raw`, plus a group commit of each event's row to SQLite
    (WAL, synchronous=FULL) on one writer thread before its 202."""
    import sqlite3
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    path = f"{tempfile.mkdtemp(prefix='gc-durable-')}/events.db"
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE events (id TEXT PRIMARY KEY, body BLOB NOT NULL)")
    writer = ThreadPoolExecutor(max_workers=1)
    queue: asyncio.Queue[tuple[str, bytes, asyncio.Future[None]]] = asyncio.Queue()

    def commit(rows: list[tuple[str, bytes]]) -> None:
        db.execute("BEGIN")
        db.executemany("INSERT INTO events (id, body) VALUES (?, ?)", rows)
        db.execute("COMMIT")

    async def committer() -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            await loop.run_in_executor(writer, commit, [(i, b) for i, b, _ in batch])
            for *_, done in batch:
                done.set_result(None)

    _BACKGROUND.add(asyncio.create_task(committer()))  # held: a task is weakly referenced

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        raw = await request.read()
        event = json.loads(raw)
        done = asyncio.get_running_loop().create_future()
        await queue.put((event["id"], raw, done))
        await done
        arrivals.count += 1
        body = json.dumps({"event_id": event["id"], "duplicate": False})
        return web.Response(status=202, text=body, content_type="application/json")

    return await _serve_low_level(handle)


async def smtp_sink(arrivals: Arrivals, delay: float) -> int:
    from aiosmtpd.smtp import SMTP

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            arrivals.note(envelope.content)
            return "250 OK"

    handler = Handler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", 0, backlog=1024)
    return int(server.sockets[0].getsockname()[1])


async def sms_peer(arrivals: Arrivals, delay: float) -> int:
    sys.path.insert(0, ".")
    from tests.peers.twilio_peer import TwilioPeer

    peer = TwilioPeer()
    original = peer._accept

    def accept(form: dict[str, str]) -> Any:
        arrivals.note(form.get("Body", "").encode())
        peer.messages.clear()  # keep memory flat on long runs
        return original(form)

    peer._accept = accept  # type: ignore[method-assign]
    await peer.start()
    return int(peer.base_url.rsplit(":", 1)[1])


PEERS = {
    "chat": chat_sink,
    "raw": raw_ingest,
    "durable": durable_ingest,
    "smtp": smtp_sink,
    "sms": sms_peer,
}


async def main(kind: str, delay: float) -> None:
    arrivals = Arrivals()
    port = await PEERS[kind](arrivals, delay)
    stats_app = web.Application()
    stats_app.add_routes(arrivals.routes())
    runner = web.AppRunner(stats_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(json.dumps({"port": port, "stats": runner.addresses[0][1]}), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=sorted(PEERS))
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(main(args.kind, args.delay))
