"""Fresh stores per benchmark: a new SQLite file, or a dropped and recreated schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


async def reset(url: str) -> None:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        _remove_database(Path(str(parsed.database)))
        return
    schema = parsed.query["search_path"]
    engine = create_async_engine(
        parsed.difference_update_query(["search_path"]).set(drivername="postgresql+asyncpg")
    )
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


_SEED_EVENTS = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO events (source, event_id, case_id, status, occurred_at, received_at, body_hash,
                    payload, outcome, notification_ids)
SELECT 'bench', 'stored-' || i, 'stored-case-' || i, 'received', '2026-01-01 00:00:00.000000',
       '2026-01-01 00:00:00.000000', '', '{}', 'no_rule', '[]' FROM n
"""


def seed_events(path: Path, count: int) -> None:
    """`count` stored events (of the bench source, none of the ids the load posts) in a
    migrated SQLite store: history that the idempotency read must not walk."""
    with sqlite3.connect(path) as db:
        db.execute(_SEED_EVENTS, (count,))
