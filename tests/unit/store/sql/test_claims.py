"""Claiming reads short index ranges: its cost must not grow with the backlog."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from sqlalchemy import create_engine
from sqlalchemy.dialects import sqlite

from groundcontrol.store.sql.claims import due_candidates
from groundcontrol.store.sql.dialect import SqliteDialect
from groundcontrol.store.sql.schema import metadata


def test_the_claim_searches_each_priority_and_the_expired_leases_without_a_scan() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        metadata.create_all(conn)
        compiled = due_candidates(SqliteDialect()).compile(dialect=sqlite.dialect())
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        now = datetime(2026, 11, 30, tzinfo=UTC).isoformat(" ")
        parameters = compiled.construct_params({"now": now, "limit": 100})
        ordered = [parameters[name] for name in compiled.positiontup or []]
        plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {compiled}", ordered)]
    searches = [step for step in plan if step.startswith("SEARCH notifications")]
    assert len(searches) == 5, plan  # four priorities, then the expired leases
    assert not [step for step in plan if step.startswith("SCAN notifications")], plan
