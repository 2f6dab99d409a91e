"""Multi-instance tests need PostgreSQL: they skip only when GC_TEST_POSTGRES_URL is unset
(.ci/run sets it). Each test gets its own schema, dropped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.peers import postgres
from tests.peers.chat_sink import ChatSink
from tests.peers.service_process import CHAT_KEY


@pytest.fixture
async def schema_url() -> AsyncIterator[str]:
    if not postgres.POSTGRES_URL:
        pytest.skip("GC_TEST_POSTGRES_URL is not set")
    async with postgres.schema_url("gc_scaleout") as url:
        yield url


@pytest.fixture
async def sink() -> AsyncIterator[ChatSink]:
    async with ChatSink(signing_key=CHAT_KEY) as running:
        yield running
