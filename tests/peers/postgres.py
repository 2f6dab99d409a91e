"""A PostgreSQL schema of its own for each test, on the server GC_TEST_POSTGRES_URL names
(.ci/run sets it); tests that need one skip when it is unset.

    async with schema_url("gc_test") as url:   # ...?search_path=gc_test_1a2b3c4d5e6f
        store = create_store(url)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("GC_TEST_POSTGRES_URL")


def postgresql_param() -> object:
    """The "postgresql" engine parameter, skipped when no server is configured."""
    return pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="GC_TEST_POSTGRES_URL is not set"),
        ],
    )


@asynccontextmanager
async def schema_url(prefix: str) -> AsyncIterator[str]:
    """A store URL on a fresh schema (created by the store's migrations), dropped on exit."""
    assert POSTGRES_URL is not None, "GC_TEST_POSTGRES_URL is not set"
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    joiner = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{joiner}search_path={schema}"
    finally:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()


async def fetch(store_url: str, sql: str) -> list[asyncpg.Record]:
    """Rows of `sql`, run directly on the schema a `schema_url` names."""
    url = make_url(store_url)
    schema = url.query["search_path"]
    dsn = url.difference_update_query(["search_path"]).render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, server_settings={"search_path": str(schema)})
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()
