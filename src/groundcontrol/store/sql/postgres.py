"""PostgreSQL: the scale-out store. Several instances share it without double sends:
claims use FOR UPDATE SKIP LOCKED with fenced leases, NOTIFY wakes every instance's
dispatcher, and advisory locks keep periodic jobs to one instance at a time."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from typing import Any, cast

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from groundcontrol.store.case_views import Breach
from groundcontrol.store.sql import thread_summary
from groundcontrol.store.sql.dialect import PostgresDialect
from groundcontrol.store.sql.engine import SqlStore
from groundcontrol.store.templates import Unfollow

CHANNEL = "groundcontrol_wake"
LISTEN_CHECK = 10.0  # seconds between probes of an idle LISTEN connection
RECONNECT_INITIAL = 0.5  # seconds; doubles per failed reconnect
RECONNECT_MAX = 30.0
FOLD_EVERY = 10.0  # seconds between folds of the golden thread's deltas by the clock
_CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
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
        self._listener_lost = asyncio.Event()
        self._watchdog: asyncio.Task[None] | None = None
        self._folded_at = 0.0  # monotonic seconds of the last fold of the thread counts

    async def open(self) -> None:
        # Instances that start together would race to create and migrate the schema.
        async with self._advisory_lock("migrate", wait=True):
            if self.schema:
                async with self.engine.begin() as conn:
                    await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            await super().open()

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
            self._watchdog = None
        await self._drop_listener()
        await super().close()

    async def fold_thread_counts(self) -> None:
        async with self.write() as conn:
            await thread_summary.fold_deltas(conn)
        self._folded_at = time.monotonic()

    async def fire_due_breaches(self, now: datetime, limit: int) -> list[Breach]:
        # The clock calls this every tick: it also folds the golden thread's deltas now
        # and then, so they stay few even where nobody reads the summary or /metrics.
        if time.monotonic() - self._folded_at >= FOLD_EVERY:
            await self.fold_thread_counts()
        return await super().fire_due_breaches(now, limit)

    async def wake_others(self, conn: AsyncConnection, kind: str) -> None:
        # In the transaction itself: PostgreSQL delivers it at commit, and not at all
        # on a rollback, without a second connection per commit.
        await conn.execute(
            text("SELECT pg_notify(:channel, :kind)"), {"channel": CHANNEL, "kind": kind}
        )

    async def listen(self, on_wake: Callable[[], None]) -> None:
        """Call `on_wake` whenever any instance commits something that became due.

        The LISTEN connection is watched: when it drops it is re-opened with backoff
        and `on_wake` is called once, for whatever was notified while it was gone.
        Meanwhile the dispatcher's poll interval is the safety net."""
        self._listener = await self._connect_listener(on_wake)
        self._watchdog = asyncio.create_task(self._keep_listening(on_wake), name="listen-watchdog")

    async def _connect_listener(self, on_wake: Callable[[], None]) -> asyncpg.Connection:
        def notified(*_args: Any) -> None:
            on_wake()

        def terminated(connection: asyncpg.Connection) -> None:
            if connection is self._listener:  # not one being replaced or closed on purpose
                self._listener_lost.set()

        connection = await asyncpg.connect(self.dsn, timeout=LISTEN_CHECK)
        self._listener_lost.clear()
        connection.add_termination_listener(terminated)
        # NOTIFY channels are per database, so instances on other schemas do not
        # interfere beyond an occasional spurious (harmless) wake-up.
        await connection.add_listener(CHANNEL, notified)
        return connection

    async def _keep_listening(self, on_wake: Callable[[], None]) -> None:
        while True:
            await self._wait_until_lost()
            log.warning("LISTEN connection lost; reconnecting (polling covers the gap)")
            await self._drop_listener()
            self._listener = await self._reconnect(on_wake)
            log.info("LISTEN connection restored")
            on_wake()

    async def _wait_until_lost(self) -> None:
        # The termination callback reports a closed socket at once; the probe finds
        # a connection that died silently (a failover, a dropped NAT entry).
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._listener_lost.wait(), LISTEN_CHECK)
                return
            if not await self._listener_alive():
                return

    async def _listener_alive(self) -> bool:
        listener = self._listener
        if listener is None or listener.is_closed():
            return False
        try:
            await listener.execute("SELECT 1", timeout=LISTEN_CHECK)
        except _CONNECTION_ERRORS:
            return False
        return True

    async def _reconnect(self, on_wake: Callable[[], None]) -> asyncpg.Connection:
        delay = RECONNECT_INITIAL
        while True:
            try:
                return await self._connect_listener(on_wake)
            except _CONNECTION_ERRORS as exc:
                log.warning("LISTEN reconnect failed (%s); next try in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX)

    async def _drop_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            await _close_quietly(listener)

    async def subscribe(self, channel: str, callback: Callable[[], None]) -> Unfollow | None:
        listener = await asyncpg.connect(self.dsn)
        await listener.add_listener(channel, lambda *_args: callback())
        return cast(Unfollow, listener.close)

    @asynccontextmanager
    async def singleton(self, name: str) -> AsyncIterator[bool]:
        """Hold a session advisory lock for the block; yields False if another has it."""
        async with self._advisory_lock(name, wait=False) as got:
            yield got

    @asynccontextmanager
    async def _advisory_lock(self, name: str, *, wait: bool) -> AsyncIterator[bool]:
        key = self._lock_key(name)
        take = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        async with self.engine.connect() as conn:
            # Autocommit: the lock is the session's, so no transaction stays open while
            # the block runs (idle_in_transaction_session_timeout would end it).
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = bool(await conn.scalar(text(f"SELECT {take}(:k)"), {"k": key})) or wait
            try:
                yield got
            finally:
                if got:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    def _lock_key(self, name: str) -> int:
        # Advisory locks are per database: the schema keeps deployments sharing one apart.
        scoped = f"{self.schema or ''}/{name}".encode()
        return int.from_bytes(hashlib.sha256(scoped).digest()[:8], "big", signed=True)


async def _close_quietly(connection: asyncpg.Connection) -> None:
    try:
        await connection.close(timeout=1.0)
    except _CONNECTION_ERRORS:
        # A dead connection cannot say goodbye: terminate() does not wait for the server.
        connection.terminate()
