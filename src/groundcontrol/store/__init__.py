"""Stores, chosen by URL: `sqlite:///path` (default) or `postgresql://user@host/db`."""

from __future__ import annotations

import importlib.util

from groundcontrol.errors import ConfigError
from groundcontrol.store.contract import Store


def create_store(url: str, *, pool_size: int = 10) -> Store:
    """Build (not open) the store for a URL; engines are imported lazily.
    `pool_size` is PostgreSQL's pooled connections per instance (SQLite has no pool)."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme == "memory":  # tests and demos: nothing survives the process
        from groundcontrol.store.memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        from groundcontrol.store.sql.sqlite import SqliteStore

        return SqliteStore(url)
    if scheme in ("postgresql", "postgres"):
        if importlib.util.find_spec("asyncpg") is None:
            raise ConfigError(
                "store.url is PostgreSQL but asyncpg is not installed: pip install '.[postgres]'"
            )
        from groundcontrol.store.sql.postgres import PostgresStore

        return PostgresStore(url, pool_size=pool_size)
    raise ConfigError(f"store.url {url!r}: use sqlite:///path or postgresql://user@host/db")


async def open_store(url: str) -> Store:
    """Build the store, run migrations, and return it ready to use."""
    store = create_store(url)
    await store.open()
    return store
