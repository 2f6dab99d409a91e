"""The store contract runs on every engine: SQLite always, PostgreSQL when
GC_TEST_POSTGRES_URL is set (.ci/run sets it). Each PostgreSQL test gets its own
schema, so runs never collide."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.peers.postgres import postgresql_param, schema_url
from tests.peers.sqlite import migrated_sqlite_url

from groundcontrol.store import create_store
from groundcontrol.store.contract import Store


@pytest.fixture(params=["memory", "sqlite", postgresql_param()])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "memory":
        yield "memory://"
        return
    if request.param == "sqlite":
        yield migrated_sqlite_url(tmp_path / "contract.db")
        return
    async with schema_url("gc_test") as url:
        yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = create_store(store_url)
    await opened.open()
    yield opened
    await opened.close()
