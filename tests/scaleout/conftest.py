"""Multi-instance tests need PostgreSQL: they skip only when GC_TEST_POSTGRES_URL is unset
(.ci/run sets it). Each test gets its own schema, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from tests.peers.chat_sink import ChatSink
from tests.scaleout.cluster import CHAT_KEY

POSTGRES_URL = os.environ.get("GC_TEST_POSTGRES_URL")


@pytest.fixture
async def schema_url() -> AsyncIterator[str]:
    if not POSTGRES_URL:
        pytest.skip("GC_TEST_POSTGRES_URL is not set")
    schema = f"gc_scaleout_{uuid.uuid4().hex[:12]}"
    joiner = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{joiner}search_path={schema}"
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


@pytest.fixture
async def sink() -> AsyncIterator[ChatSink]:
    async with ChatSink(signing_key=CHAT_KEY) as running:
        yield running
