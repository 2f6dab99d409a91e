"""PostgreSQL: the scale-out store. Several instances share it without double sends:
claims use FOR UPDATE SKIP LOCKED with fenced leases, NOTIFY wakes every instance's
dispatcher, and advisory locks keep periodic jobs to one instance at a time."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from groundcontrol.store.dialect import PostgresDialect
from groundcontrol.store.sql import SqlStore

CHANNEL = "groundcontrol_wake"
log = logging.getLogger(__name__)


class PostgresStore(SqlStore):
    dialect = PostgresDialect()

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        parsed = make_url(url)
        # `?search_path=name` keeps several deployments (or test runs) in one database.
        self.schema = parsed.query.get("search_path")
        parsed = parsed.difference_update_query(["search_path"])
        self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        settings = {"search_path": str(self.schema)} if self.schema else {}
        engine = create_async_engine(
            parsed.set(drivername="postgresql+asyncpg"),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args={"server_settings": settings},
        )
        super().__init__(engine)
        self._listener: asyncpg.Connection | None = None

    async def open(self) -> None:
        if self.schema:
            async with self.engine.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        await super().open()

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        await super().close()

    async def after_commit(self, kind: str) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(
                text("SELECT pg_notify(:channel, :kind)"), {"channel": CHANNEL, "kind": kind}
            )
            await conn.commit()

    async def listen(self, on_wake: Callable[[], None]) -> None:
        """Call `on_wake` whenever any instance commits something that became due."""

        def _notified(*_args: Any) -> None:
            on_wake()

        self._listener = await asyncpg.connect(self.dsn)
        # NOTIFY channels are per database, so instances on other schemas do not
        # interfere beyond an occasional spurious (harmless) wake-up.
        await self._listener.add_listener(CHANNEL, _notified)

    @asynccontextmanager
    async def singleton(self, name: str) -> AsyncIterator[bool]:
        """Hold a session advisory lock for the block; yields False if another has it."""
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        async with self.engine.connect() as conn:
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            try:
                yield got
            finally:
                if got:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
