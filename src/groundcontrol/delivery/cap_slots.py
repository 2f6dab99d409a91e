"""Frequency-cap slots held by sends in flight, so one dispatcher never overshoots a cap.

The store knows only sends already recorded. Two held messages of one customer falling
due in the same tick would both read the same history and both go. A send let through
the cap therefore holds a slot until its outcome is committed, and a customer's cap
decisions and slot releases take turns: a decision reads the history either before a
send is committed (and then sees its slot) or after (and then sees the send).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TypeVar

Deferral = TypeVar("Deferral")


class CapSlots:
    def __init__(self) -> None:
        self._slots: dict[str, tuple[str, datetime]] = {}  # notification -> (customer, at)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # customer -> (lock, users)

    async def take(
        self,
        customer_id: str,
        notification_id: str,
        now: datetime,
        hold: Callable[[list[datetime]], Awaitable[Deferral | None]],
    ) -> Deferral | None:
        """`hold` gets the times of this customer's sends in flight, reads the rest of the
        history and returns why the message must wait, or None to let it go. A message
        let go holds a slot until `give_back`."""
        async with self._turn(customer_id):
            in_flight = [at for who, at in self._slots.values() if who == customer_id]
            deferral = await hold(in_flight)
            if deferral is None:
                self._slots[notification_id] = (customer_id, now)
            return deferral

    async def give_back(self, notification_id: str) -> None:
        """Call once the send's outcome is committed (or it never happened)."""
        held = self._slots.get(notification_id)
        if held is None:
            return
        async with self._turn(held[0]):
            del self._slots[notification_id]

    def __len__(self) -> int:
        return len(self._slots)

    @asynccontextmanager
    async def _turn(self, customer_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(customer_id, (asyncio.Lock(), 0))
        self._locks[customer_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[customer_id]
            if users == 1:
                del self._locks[customer_id]  # no one else holds or waits for it
            else:
                self._locks[customer_id] = (lock, users - 1)
