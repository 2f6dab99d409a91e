"""The real application with its dispatcher off: what ingest costs on its own.

`python -m bench.ingest_only` reads the same config and GC_* environment as
`groundcontrol serve` and serves `create_app(settings, run_dispatcher=False)`.
"""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web

from groundcontrol.app import create_app
from groundcontrol.settings import load_settings


async def serve() -> None:
    settings = load_settings()
    runner = web.AppRunner(create_app(settings, run_dispatcher=False), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.server.host, settings.server.port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())
