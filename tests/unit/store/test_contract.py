"""The optional abilities' defaults: a store in one process, with nothing to hear or sweep."""

from __future__ import annotations

from datetime import UTC, datetime

from groundcontrol.store.contract import RetentionReport, StoreBase
from groundcontrol.store.memory import MemoryStore

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


async def test_one_process_is_always_alone_in_a_singleton() -> None:
    store = StoreBase()
    async with store.singleton("retention") as first, store.singleton("retention") as second:
        assert (first, second) == (True, True)


async def test_listen_and_purge_default_to_nothing_to_do() -> None:
    store = MemoryStore()
    woken: list[int] = []

    await store.listen(lambda: woken.append(1))

    assert await store.purge(NOW) == RetentionReport()
    assert RetentionReport().total == 0
    assert woken == []
