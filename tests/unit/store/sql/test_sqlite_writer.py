"""The SQLite writer and reader threads: a whole transaction per hop, committed before
it answers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.errors import StoreUnavailable
from groundcontrol.store.sql.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    created = SqliteStore(f"sqlite:///{tmp_path}/gc.db")
    await created.transact(_create_table)
    yield created
    await created.close()


async def _create_table(conn: AsyncConnection) -> None:
    await conn.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY)"))


def _rows(tmp_path: Path) -> list[int]:
    """What another connection sees: only what was committed."""
    with sqlite3.connect(tmp_path / "gc.db") as db:
        return [n for (n,) in db.execute("SELECT n FROM t ORDER BY n")]


async def test_the_transaction_runs_off_the_loop_and_is_committed_when_it_answers(
    store: SqliteStore, tmp_path: Path
) -> None:
    async def insert(conn: AsyncConnection) -> int:
        await conn.execute(text("INSERT INTO t (n) VALUES (1), (2)"))
        return threading.get_ident()

    ran_on = await store.transact(insert)

    assert ran_on != threading.get_ident()
    assert _rows(tmp_path) == [1, 2]


async def test_an_error_rolls_the_whole_transaction_back_and_reaches_the_caller(
    store: SqliteStore, tmp_path: Path
) -> None:
    async def half(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO t (n) VALUES (1)"))
        raise LookupError("planned failure")

    with pytest.raises(LookupError, match="planned failure"):
        await store.transact(half)
    assert _rows(tmp_path) == []


async def test_a_savepoint_rolls_back_alone(store: SqliteStore, tmp_path: Path) -> None:
    async def poisoned(conn: AsyncConnection) -> None:
        async with conn.begin_nested():
            await conn.execute(text("INSERT INTO t (n) VALUES (2)"))
            await conn.execute(text("INSERT INTO t (n) VALUES (1)"))  # duplicate key

    async def isolated(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO t (n) VALUES (1)"))
        with pytest.raises(IntegrityError):
            await poisoned(conn)
        await conn.execute(text("INSERT INTO t (n) VALUES (3)"))

    await store.transact(isolated)
    assert _rows(tmp_path) == [1, 3]


async def test_a_transaction_that_awaits_real_io_is_refused_and_nothing_is_written(
    store: SqliteStore, tmp_path: Path
) -> None:
    async def waits(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO t (n) VALUES (1)"))
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="statements only"):
        await store.transact(waits)
    assert _rows(tmp_path) == []


async def test_a_database_error_on_the_thread_is_the_domains_unavailable(
    store: SqliteStore,
) -> None:
    async def broken(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO missing_table (n) VALUES (1)"))

    with pytest.raises(StoreUnavailable):
        await store.transact(broken)


async def test_closing_twice_is_fine_and_a_closed_store_opens_again_on_use(
    store: SqliteStore, tmp_path: Path
) -> None:
    await store.close()
    await store.close()

    async def insert(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO t (n) VALUES (7)"))

    await store.transact(insert)
    assert _rows(tmp_path) == [7]


async def test_a_query_runs_on_the_reader_thread_and_sees_what_was_committed(
    store: SqliteStore,
) -> None:
    async def insert(conn: AsyncConnection) -> int:
        await conn.execute(text("INSERT INTO t (n) VALUES (4), (5)"))
        return threading.get_ident()

    async def read(conn: AsyncConnection) -> tuple[list[int], int]:
        rows = await conn.execute(text("SELECT n FROM t ORDER BY n"))
        return [n for (n,) in rows], threading.get_ident()

    writer = await store.transact(insert)
    seen, reader = await store.query(read)

    assert seen == [4, 5]
    assert reader not in (writer, threading.get_ident())
