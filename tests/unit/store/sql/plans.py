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
from sqlalchemy.engine import Engine

Traced = list[tuple[str, Any]]


@contextmanager
def traced() -> Iterator[Traced]:
    """The statements run meanwhile on any engine: the store's reads and `write()`, and
    its writer and reader threads' (`transact`, `query`)."""
    seen: Traced = []

    def on_execute(*args: Any) -> None:
        _conn, _cursor, statement, parameters, _context, many = args
        if not many:
            seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", on_execute)


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
