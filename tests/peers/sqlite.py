"""A fresh SQLite store for each test: a copy of one file migrated once per test process.

Migrating an empty file runs every Alembic revision (about 0.14 s here); copying a
migrated one takes a millisecond, and the store's own migration step then finds
nothing to do. Most service and API tests start a store, so this is minutes of a CI
run. The copy is byte for byte what the migrations made; tests of the migrations
themselves migrate their own files.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import threading
from pathlib import Path

from groundcontrol.store import open_store

_template: Path | None = None
_building = threading.Lock()


def migrated_sqlite_url(path: Path) -> str:
    """The URL of the store at `path`: an empty, migrated one put there unless a store
    is there already (a test restarting its service keeps what it stored)."""
    if not path.exists():
        shutil.copyfile(_migrated(), path)
    return f"sqlite:///{path}"


def _migrated() -> Path:
    global _template
    with _building:
        if _template is None:
            directory = Path(tempfile.mkdtemp(prefix="gc-migrated-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            path = directory / "template.db"
            # On its own thread and loop: callers may be inside a running event loop.
            migrating = threading.Thread(target=asyncio.run, args=(_migrate(path),))
            migrating.start()
            migrating.join()
            if not path.is_file() or path.with_name(path.name + "-wal").exists():
                raise RuntimeError(f"migrating the template store at {path} failed")
            _template = path
    return _template


async def _migrate(path: Path) -> None:
    store = await open_store(f"sqlite:///{path}")
    await store.close()
