"""SQLite on a thread of its own, a whole transaction per hop: the writer, and a reader
for the dispatcher's frequent reads.

Through aiosqlite every awaited statement crosses to the driver's thread and back (a
future, a wake-up of the event loop, the GIL handed over twice): a group-commit batch of
about ten statements made ten round trips, and the loop sat idle between them. Here the
transaction's code runs on a dedicated writer thread against the plain `sqlite3` driver,
start to commit, and only its result (or its error) comes back to the loop: one hop per
transaction. Durability is unchanged: the commit, with its fsync (synchronous=FULL), is
done before the result is handed back, so the 202 still follows the data on disk.

The store's statement code stays the same `async def f(conn: AsyncConnection)` it is on
PostgreSQL. On this thread its `AsyncConnection` wraps a synchronous connection and
executes straight on it, so every `await conn.execute(...)` completes at once (nothing
else, such as savepoints, finds anything to await either); the coroutine is driven to
its end with `send(None)`, without an event loop. A coroutine that awaits anything
else (real I/O) is a programming error and is refused, never run half.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Executable
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")
Transaction = Callable[[AsyncConnection], Awaitable[T]]


class _SyncBackedEngine(AsyncEngine):
    """An `AsyncEngine` face on a synchronous engine, only to build the connection
    wrappers the statement code expects (AsyncEngine refuses a sync driver)."""

    def __init__(self, sync_engine: Engine) -> None:  # no super(): see above
        self.sync_engine = self._assign_proxied(sync_engine)


class _DirectConnection(AsyncConnection):
    """Executes on the synchronous connection in the calling thread. (AsyncConnection
    runs each statement in a greenlet and insists that the driver awaits something.)"""

    async def execute(
        self,
        statement: Executable,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> CursorResult[Any]:
        return self._proxied.execute(statement, parameters, execution_options=execution_options)

    async def exec_driver_sql(
        self, statement: str, parameters: Any = None, execution_options: Any = None
    ) -> CursorResult[Any]:
        return self._proxied.exec_driver_sql(statement, parameters, execution_options)


class SqliteThread:
    """`await thread.run(fn)`: `fn(conn)` in one transaction on this thread."""

    def __init__(self, sync_engine: Engine, name: str) -> None:
        self._engine = sync_engine
        self._face = _SyncBackedEngine(sync_engine)
        self._name = name
        self._thread: ThreadPoolExecutor | None = None

    async def run(self, fn: Transaction[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer_thread(), self._transact, fn)

    def _writer_thread(self) -> ThreadPoolExecutor:
        # Started on first use, and again after `close()`: like the engine's `dispose()`,
        # closing drops the connection, and the next transaction opens a new one.
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        return self._thread

    def _transact(self, fn: Transaction[T]) -> T:
        with self._engine.begin() as sync_conn:  # commits (and fsyncs) on a clean exit
            return _drive(fn(_DirectConnection(self._face, sync_conn)))

    def close(self) -> None:
        if self._thread is None:
            return
        thread, self._thread = self._thread, None
        # The connection is closed on the thread that opened and used it.
        thread.submit(self._engine.dispose).result()
        thread.shutdown(wait=True)


def _drive(step: Awaitable[T]) -> T:
    """Run a coroutine that never suspends to its end, without an event loop."""
    coroutine: Coroutine[Any, Any, T] = step  # type: ignore[assignment]
    try:
        awaited = coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError(f"a writer-thread transaction awaited {awaited!r}: statements only")
