"""The store contract runs on every engine: SQLite always, PostgreSQL when
GC_TEST_POSTGRES_URL is set (.ci/run sets it). Each PostgreSQL test gets its own
schema, so runs never collide."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from groundcontrol.store import create_store
from groundcontrol.store.base import Store

POSTGRES_URL = os.environ.get("GC_TEST_POSTGRES_URL")


def engines() -> list[object]:
    return [
        "memory",
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not POSTGRES_URL, reason="GC_TEST_POSTGRES_URL is not set"),
            ],
        ),
    ]


@pytest.fixture(params=engines())
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "memory":
        yield "memory://"
        return
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'contract.db'}"
        return
    assert POSTGRES_URL is not None
    schema = f"gc_test_{uuid.uuid4().hex[:12]}"
    joiner = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{joiner}search_path={schema}"
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = create_store(store_url)
    await opened.open()
    yield opened
    await opened.close()
