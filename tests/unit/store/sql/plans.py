"""What SQLite plans for the statements a store call runs: each statement is traced as
the call runs it, then planned (EXPLAIN QUERY PLAN) with its own parameters on the same
database, whose schema the migrations built."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from groundcontrol.store.sql.sqlite import SqliteStore

Traced = list[tuple[str, Any]]


@contextmanager
def traced(store: SqliteStore) -> Iterator[Traced]:
    """The statements the store runs on its engine meanwhile (reads and `write()`)."""
    seen: Traced = []

    def on_execute(*args: Any) -> None:
        _conn, _cursor, statement, parameters, _context, many = args
        if not many:
            seen.append((statement, parameters))

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def plans(database: Path, seen: Traced, part: str) -> list[list[str]]:
    """The plan of each traced statement that holds `part` (spaces as one)."""
    with closing(sqlite3.connect(database)) as db:
        return [
            [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            for statement, parameters in seen
            if part in " ".join(statement.split())
        ]


def scans(plan: list[str], table: str) -> list[str]:
    """Steps that read all of `table` (or all of one of its indexes)."""
    return [step for step in plan if step.startswith(f"SCAN {table}")]
