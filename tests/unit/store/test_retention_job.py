"""The retention job on any store: the store's singleton decides who sweeps, its purge what."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from groundcontrol.store.contract import RetentionReport
from groundcontrol.store.memory import MemoryStore
from groundcontrol.store.retention import SINGLETON, run_retention

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class Recording(MemoryStore):
    """A memory store that records the sweeps asked of it; `busy`: another instance sweeps."""

    def __init__(self, busy: bool = False) -> None:
        super().__init__()
        self.busy = busy
        self.horizons: list[datetime] = []
        self.held: list[str] = []

    @asynccontextmanager
    async def singleton(self, name: str) -> AsyncIterator[bool]:
        self.held.append(name)
        yield not self.busy

    async def purge(self, horizon: datetime) -> RetentionReport:
        self.horizons.append(horizon)
        return RetentionReport(events=3)


async def test_the_sweep_purges_past_the_horizon_under_the_singleton() -> None:
    store = Recording()

    report = await run_retention(store, 90, NOW)

    assert report == RetentionReport(events=3)
    assert store.horizons == [NOW - timedelta(days=90)]
    assert store.held == [SINGLETON]


async def test_no_sweep_when_retention_is_off_or_another_instance_sweeps() -> None:
    off, busy = Recording(), Recording(busy=True)

    assert await run_retention(off, 0, NOW) is None
    assert await run_retention(busy, 90, NOW) is None
    assert off.horizons == busy.horizons == []
