"""A page ordered across a whole table, read from indexes that lead with a column of few
values (a state, `is_open`) and then hold the order: one short ordered range per value,
each stopping after `limit` rows, merged. The first `limit` rows of the merge are the
first `limit` rows of the whole table in that order, so the page is the same as sorting
every row, while the cost is `limit` rows per value rather than every row ever stored.

Correct only when every row's column holds one of `values` (a NOT NULL column of a
closed set), which the callers guarantee.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, literal_column, select, union_all
from sqlalchemy.engine import Dialect

Order = Callable[[Any], Sequence[Any]]  # the ORDER BY terms, given a column collection

SEQ = "_insertion"


def insertion_order(table: Table, dialect: Dialect) -> ColumnElement[Any] | None:
    """What orders ties as a scan-and-sort of the whole table did: SQLite's sort kept
    rows of one sort key in table order (rowid), so ties keep that order. PostgreSQL
    never promised one for ties."""
    return literal_column(f"{table.name}.rowid") if dialect.name == "sqlite" else None


def merged_page(
    table: Table,
    column: Any,
    values: Iterable[Any],
    conditions: Sequence[Any],
    order: Order,
    limit: int,
    ties: ColumnElement[Any] | None = None,
) -> Select[Any]:
    """`SELECT table.* WHERE conditions ORDER BY order LIMIT limit`, read per value of
    `column`. `ties` (insertion_order) breaks ties as the single statement did."""
    extra = [ties.label(SEQ)] if ties is not None else []

    def branch(value: Any) -> Any:
        then = [ties.asc()] if ties is not None else []
        ranged = select(table, *extra).where(*conditions, column == value)
        return select(ranged.order_by(*order(table.c), *then).limit(limit).subquery())

    merged = union_all(*(branch(value) for value in values)).subquery()
    then = [merged.c[SEQ].asc()] if ties is not None else []
    columns = [merged.c[c.name] for c in table.c]
    return select(*columns).order_by(*order(merged.c), *then).limit(limit)
