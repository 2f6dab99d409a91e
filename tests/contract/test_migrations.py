"""Migrations build exactly the schema the code declares, on every engine."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from groundcontrol.store.contract import Store
from groundcontrol.store.sql.schema import metadata


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_the_migrated_schema_matches_the_models(store: Store, store_url: str) -> None:
    if store_url.startswith("memory"):
        pytest.skip("the memory store has no schema to migrate")
    engine = store.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
        assert set(metadata.tables) <= await conn.run_sync(_tables)


async def test_migrating_twice_is_a_no_op(store: Store) -> None:
    await store.open()
    await store.open()
