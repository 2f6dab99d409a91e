"""Reads of a group-commit batch use the indexes: their cost must not grow with the
number of rows ever stored."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine
from sqlalchemy.dialects import sqlite

from groundcontrol.store.sql.batch_recording import stored_events_query
from groundcontrol.store.sql.schema import metadata


def _plan(keys: set[tuple[str, str]]) -> list[str]:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        metadata.create_all(conn)
        compiled = stored_events_query(keys).compile(
            dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
        )
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        return [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {compiled}")]


def test_the_idempotency_read_searches_the_unique_index_instead_of_scanning_it() -> None:
    plan = _plan({("crm", f"evt-{n}") for n in range(64)})
    assert plan, "no plan"
    assert all(step.startswith("SEARCH events") for step in plan), plan


def test_a_batch_from_several_sources_searches_once_per_source() -> None:
    plan = _plan({("crm", "evt-1"), ("crm", "evt-2"), ("billing", "evt-1")})
    searches = [step for step in plan if step.startswith("SEARCH events")]
    assert len(searches) == 2, plan
    assert not [step for step in plan if step.startswith("SCAN events")], plan
