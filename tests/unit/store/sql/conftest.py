"""A migrated SQLite store on disk, for tests that plan the statements it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from groundcontrol.store.sql.sqlite import SqliteStore


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "gc.db"


@pytest.fixture
async def store(database: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(f"sqlite:///{database}")
    await opened.open()
    yield opened
    await opened.close()
