"""The stores a replay runs on: the memory store (fast), or a temporary SQLite file
(the service's own engine, for a replay that must match it statement for statement)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from groundcontrol.store.contract import Store
from groundcontrol.store.memory import MemoryStore
from groundcontrol.store.sql.sqlite import SqliteStore


async def memory_store() -> Store:
    # A replay stops at its first failed write, so the rollback copy is never used.
    store = MemoryStore(snapshots=False)
    await store.open()
    return store


class TemporarySqlite:
    """A fresh SQLite file per shard, in a folder removed when the replay is done."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="gc-simulate-")
        self._count = 0

    async def __call__(self) -> Store:
        self._count += 1
        path = Path(self._folder.name) / f"shard-{self._count}.db"
        store = SqliteStore(f"sqlite:///{path}")
        await store.open()
        return store

    def cleanup(self) -> None:
        self._folder.cleanup()


@contextmanager
def temporary_sqlite() -> Iterator[TemporarySqlite]:
    factory = TemporarySqlite()
    try:
        yield factory
    finally:
        factory.cleanup()
