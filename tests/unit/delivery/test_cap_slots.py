"""CapSlots: sends in flight count toward the cap until their outcome is committed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from groundcontrol.delivery.cap_slots import CapSlots

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CAP = 1
Hold = Callable[[list[datetime]], Awaitable[str | None]]


class History:
    """A store whose reads yield to the loop, as a real one does."""

    def __init__(self) -> None:
        self.sent: list[datetime] = []

    def hold(self, slots_seen: list[list[datetime]]) -> Hold:
        async def hold(in_flight: list[datetime]) -> str | None:
            await asyncio.sleep(0)
            slots_seen.append(in_flight)
            return "over the cap" if len(self.sent) + len(in_flight) >= CAP else None

        return hold


async def test_concurrent_decisions_for_one_customer_let_only_one_through() -> None:
    slots, history = CapSlots(), History()
    seen: list[list[datetime]] = []
    verdicts = await asyncio.gather(
        *(slots.take("cust-1", f"n{i}", NOW, history.hold(seen)) for i in range(3))
    )
    assert verdicts.count(None) == 1
    assert len(slots) == 1


async def test_a_slot_given_back_after_commit_is_counted_by_the_history_instead() -> None:
    slots, history = CapSlots(), History()
    seen: list[list[datetime]] = []
    assert await slots.take("cust-1", "n1", NOW, history.hold(seen)) is None
    history.sent.append(NOW)  # the send is committed ...
    await slots.give_back("n1")  # ... then its slot is given back
    assert await slots.take("cust-1", "n2", NOW, history.hold(seen)) == "over the cap"
    assert seen[-1] == []
    assert len(slots) == 0


async def test_customers_do_not_share_slots() -> None:
    slots, history = CapSlots(), History()
    seen: list[list[datetime]] = []
    assert await slots.take("cust-1", "n1", NOW, history.hold(seen)) is None
    assert await slots.take("cust-2", "n2", NOW, history.hold(seen)) is None


async def test_giving_back_an_unknown_slot_is_harmless() -> None:
    slots = CapSlots()
    await slots.give_back("never-taken")
    assert len(slots) == 0
