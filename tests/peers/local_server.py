"""What every peer server in tests/peers shares: a free port on 127.0.0.1, and
`async with peer:` to start and stop it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web


async def listen_locally(runner: web.BaseRunner) -> int:
    """Set `runner` up on a free port of 127.0.0.1; the port."""
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return int(runner.addresses[0][1])


class Started:
    """A peer that `async with` starts, and stops on the way out."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
