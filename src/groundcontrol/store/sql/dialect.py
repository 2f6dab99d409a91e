"""What differs between engines at the SQL level, as a few small hooks.

SQLite has one writer at a time (a process-wide lock makes that explicit) and no row
locks; PostgreSQL claims with FOR UPDATE SKIP LOCKED so several instances share work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, Table
from sqlalchemy.dialects import postgresql, sqlite


class Dialect(Protocol):
    name: str

    def insert(self, table: Table) -> Any: ...

    def lock_row(self, query: Select[Any]) -> Select[Any]:
        """Lock the selected row(s) until commit (waits for other holders)."""

    def claim_rows(self, query: Select[Any]) -> Select[Any]:
        """Lock the selected rows, skipping rows another transaction holds."""


T = TypeVar("T")


def once_per_dialect(build: Callable[[Dialect], T]) -> Callable[[Dialect], T]:
    """`build(dialect)` once per engine kind, then the same statement every call: the
    hot paths' statements took longer to build (and to derive SQLAlchemy's cache key
    for) than to run on a small batch. Values are bound at execution, never built in."""
    built: dict[str, T] = {}

    @functools.wraps(build)
    def statement(dialect: Dialect) -> T:
        if dialect.name not in built:
            built[dialect.name] = build(dialect)
        return built[dialect.name]

    return statement


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
