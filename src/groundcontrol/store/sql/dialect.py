"""What differs between engines at the SQL level, as a few small hooks.

SQLite has one writer at a time (a process-wide lock makes that explicit) and no row
locks; PostgreSQL claims with FOR UPDATE SKIP LOCKED so several instances share work.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Select, Table
from sqlalchemy.dialects import postgresql, sqlite


class Dialect(Protocol):
    name: str

    def insert(self, table: Table) -> Any: ...

    def lock_row(self, query: Select[Any]) -> Select[Any]:
        """Lock the selected row(s) until commit (waits for other holders)."""

    def claim_rows(self, query: Select[Any]) -> Select[Any]:
        """Lock the selected rows, skipping rows another transaction holds."""


class SqliteDialect:
    name = "sqlite"

    def insert(self, table: Table) -> Any:
        return sqlite.insert(table)

    def lock_row(self, query: Select[Any]) -> Select[Any]:
        return query  # the write lock already serialises every writer

    def claim_rows(self, query: Select[Any]) -> Select[Any]:
        return query


class PostgresDialect:
    name = "postgresql"

    def insert(self, table: Table) -> Any:
        return postgresql.insert(table)

    def lock_row(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update()

    def claim_rows(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update(skip_locked=True)
