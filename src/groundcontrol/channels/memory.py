"""A channel in memory: records what it would send, and fails or hangs on cue.

For unit tests of the dispatcher: script the next sends with `fail_next` or
`hang_next`, then read `sent` (accepted messages) and `calls` (every attempt).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from groundcontrol.channels.base import OutgoingMessage, Receipt
from groundcontrol.domain import ChannelName
from groundcontrol.errors import DeliveryError


@dataclass(frozen=True)
class _Fail:
    error: DeliveryError


@dataclass(frozen=True)
class _Hang:
    pass


class MemoryChannel:
    """A `Channel` that keeps every message it accepts in `sent`."""

    def __init__(self, name: ChannelName) -> None:
        self.name: ChannelName = name
        self.sent: list[OutgoingMessage] = []
        self.calls: list[OutgoingMessage] = []
        self.is_open = False
        self._script: deque[_Fail | _Hang] = deque()
        self._resume = asyncio.Event()
        self._hanging = 0
        self._hanging_changed = asyncio.Condition()

    async def open(self) -> None:
        self.is_open = True

    async def close(self) -> None:
        self.is_open = False

    def fail_next(self, error: DeliveryError, times: int = 1) -> None:
        """The next `times` sends raise `error` (after the ones already scripted)."""
        self._script.extend(_Fail(error) for _ in range(times))

    def hang_next(self, times: int = 1) -> None:
        """The next `times` sends wait until `resume()`, then succeed; cancelling them
        is how a caller gives up on a provider that does not answer."""
        self._script.extend(_Hang() for _ in range(times))

    def resume(self) -> None:
        """Let the sends hanging now go through; later `hang_next` sends hang anew."""
        self._resume.set()
        self._resume = asyncio.Event()

    async def wait_hanging(self, count: int = 1) -> None:
        """Return once at least `count` sends are hanging."""
        async with self._hanging_changed:
            await self._hanging_changed.wait_for(lambda: self._hanging >= count)

    async def send(self, message: OutgoingMessage) -> Receipt:
        self.calls.append(message)
        step = self._script.popleft() if self._script else None
        if isinstance(step, _Fail):
            raise step.error
        if isinstance(step, _Hang):
            await self._hang()
        self.sent.append(message)
        return Receipt(provider_id=f"{self.name}-{len(self.sent)}", detail="accepted in memory")

    async def _hang(self) -> None:
        await self._count_hanging(+1)
        try:
            await self._resume.wait()
        finally:
            await self._count_hanging(-1)

    async def _count_hanging(self, change: int) -> None:
        async with self._hanging_changed:
            self._hanging += change
            self._hanging_changed.notify_all()
