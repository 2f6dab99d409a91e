"""SQLite: the embedded default. One process, one writer at a time, WAL, fsync at commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from groundcontrol.store.sql.dialect import SqliteDialect
from groundcontrol.store.sql.engine import SqlStore
from groundcontrol.store.sql.outage import unavailable_as_domain
from groundcontrol.store.sql.writer import SqliteThread

T = TypeVar("T")


class SqliteStore(SqlStore):
    dialect = SqliteDialect()

    def __init__(self, url: str) -> None:
        parsed = make_url(url).set(drivername="sqlite+aiosqlite")
        on_disk = bool(parsed.database) and parsed.database != ":memory:"
        if on_disk:
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args={"timeout": 30})
        _configure(engine.sync_engine)
        super().__init__(engine)
        # SQLite has a single writer: queue writers here rather than spin on SQLITE_BUSY.
        self._write_lock = asyncio.Lock()
        # The busy write paths (`transact`) run on one thread with the plain driver;
        # an in-memory database is private to its connection, so it keeps aiosqlite.
        # A reader thread likewise answers `query` (the dispatcher's reads after every
        # tick) in one hop, beside the writer (WAL: readers do not wait for it).
        self._writer: SqliteThread | None = None
        self._reader: SqliteThread | None = None
        if on_disk:
            self._writer = SqliteThread(_sync_engine(parsed), "sqlite-writer")
            self._reader = SqliteThread(_sync_engine(parsed), "sqlite-reader")

    async def close(self) -> None:
        for thread in (self._writer, self._reader):
            if thread is not None:
                thread.close()
        await super().close()

    async def query(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        if self._reader is None:
            return await super().query(fn)
        async with unavailable_as_domain():
            return await self._reader.run(fn)

    async def transact(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        if self._writer is None:
            return await super().transact(fn)
        async with self._write_lock, unavailable_as_domain():
            return await self._writer.run(fn)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_lock, unavailable_as_domain(), self.engine.begin() as conn:
            yield conn


def _sync_engine(parsed: URL) -> Engine:
    engine = create_engine(parsed.set(drivername="sqlite+pysqlite"), connect_args={"timeout": 30})
    _configure(engine)
    return engine


def _configure(sync_engine: Any) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the 202; group commit amortises the fsync.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")
