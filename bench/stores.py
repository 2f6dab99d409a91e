"""Fresh stores per benchmark: a new SQLite file, or a dropped and recreated schema."""

from __future__ import annotations

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
