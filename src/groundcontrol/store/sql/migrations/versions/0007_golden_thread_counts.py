"""The golden thread's summary without a scan: counts of open cases per (status, source,
hour of dark_since) and per (status, source, hour of deadline), kept by triggers on
`cases`, so every statement that opens, closes, moves or re-sorts a case (ingest, a
contact, a viewed case page, a final status, a deletion) keeps them in its own
transaction, on every code path, without the statements knowing.

- PostgreSQL: the triggers append a delta row per changed key to
  `golden_thread_deltas` (per statement for inserts and deletes, per row for an update
  that changes a counted column). Appending never waits for another writer and takes
  no lock two transactions could take in opposite orders (no deadlock); a reader folds
  the deltas into `golden_thread_counts` (store/sql/thread_summary.py).
- SQLite: one writer at a time, so row-level triggers update the counts directly.

The counts start from the existing rows, under a lock that holds writers off meanwhile.
The bucket width (3600 s) is store/sql/thread_summary.py's BUCKET_SECONDS.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# (kind, condition on a row, bucket of a row) per dialect; {r} is the row or table name.
OPEN = "{r}.is_open AND {r}.dark_since IS NOT NULL"
HAS_DEADLINE = OPEN + " AND {r}.deadline_epoch IS NOT NULL"
POSTGRES_KEYS = (
    ("dark", OPEN, "floor(extract(epoch FROM {r}.dark_since) / 3600)::bigint"),
    ("deadline", HAS_DEADLINE, "floor({r}.deadline_epoch / 3600)::bigint"),
)
SQLITE_KEYS = (
    ("dark", OPEN, "CAST(strftime('%s', {r}.dark_since) AS INTEGER) / 3600"),
    ("deadline", HAS_DEADLINE, "CAST({r}.deadline_epoch / 3600 AS INTEGER)"),
)
# Only an update that changes one of these moves a case between counts.
COUNTED_COLUMNS = ("is_open", "dark_since", "deadline_epoch", "status", "source")
# trigger name suffix -> the statement that fires it
TRIGGERS = {"inserted": "INSERT", "updated": "UPDATE", "deleted": "DELETE"}


def _key_rows(keys: tuple[tuple[str, str, str], ...], rows: str, sign: str) -> str:
    """A SELECT of each counted key of `rows` (a table, or a row trigger's OLD / NEW)."""
    source = "" if rows in ("OLD", "NEW") else f" FROM {rows}"
    return " UNION ALL ".join(
        f"SELECT '{kind}' AS kind, {rows}.status AS status,"
        f" COALESCE({rows}.source, '') AS source, {bucket.format(r=rows)} AS bucket,"
        f" {sign} AS n{source} WHERE {where.format(r=rows)}"
        for kind, where, bucket in keys
    )


# --- PostgreSQL ---------------------------------------------------------------------------


def _postgres_function(name: str, parts: list[str]) -> str:
    changed = " UNION ALL ".join(parts)
    return f"""
CREATE FUNCTION golden_thread_cases_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO golden_thread_deltas (kind, status, source, bucket, n)
    SELECT kind, status, source, bucket, sum(n) FROM ({changed}) AS changed
    GROUP BY kind, status, source, bucket HAVING sum(n) <> 0;
    RETURN NULL;
END $$"""


def _postgres_upgrade() -> None:
    old_rows = _key_rows(POSTGRES_KEYS, "old_rows", "-1")
    new_rows = _key_rows(POSTGRES_KEYS, "new_rows", "1")
    # Inserts and deletes: once per statement, over all its rows (an ingest batch's new
    # cases are one delta row per key, not one per case).
    for name, rows, table in (
        ("inserted", new_rows, "NEW TABLE AS new_rows"),
        ("deleted", old_rows, "OLD TABLE AS old_rows"),
    ):
        op.execute(_postgres_function(name, [rows]))
        op.execute(
            f"CREATE TRIGGER golden_thread_cases_{name} AFTER {TRIGGERS[name]} ON cases"
            f" REFERENCING {table} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION golden_thread_cases_{name}()"
        )
    # Updates: per row, and only when a counted column changed; most updates of a case
    # (a breach recorded, a message's bookkeeping) change none and cost nothing here.
    old, new = _key_rows(POSTGRES_KEYS, "OLD", "-1"), _key_rows(POSTGRES_KEYS, "NEW", "1")
    op.execute(_postgres_function("updated", [old, new]))
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in COUNTED_COLUMNS)
    op.execute(
        "CREATE TRIGGER golden_thread_cases_updated AFTER UPDATE ON cases"
        f" FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION golden_thread_cases_updated()"
    )


# --- SQLite -------------------------------------------------------------------------------

UPSERT = (
    "INSERT INTO golden_thread_counts (kind, status, source, bucket, n) {rows}"
    " ON CONFLICT (kind, status, source, bucket) DO UPDATE SET n = n + excluded.n;"
)
CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COUNTED_COLUMNS)


# A count that fell to zero goes, so the table holds only hours with open cases.
EMPTIED = (
    "DELETE FROM golden_thread_counts WHERE kind = '{kind}' AND status = {r}.status"
    " AND source = COALESCE({r}.source, '') AND bucket = {bucket} AND n = 0;"
)


def _sqlite_statements(row: str, sign: str) -> str:
    # The SELECT names no table: each row trigger counts its own OLD or NEW row.
    statements = []
    for kind, where, bucket in SQLITE_KEYS:
        statements.append(
            UPSERT.format(
                rows=f"SELECT '{kind}', {row}.status, COALESCE({row}.source, ''),"
                f" {bucket.format(r=row)}, {sign} WHERE {where.format(r=row)}"
            )
        )
        if sign == "-1":
            statements.append(EMPTIED.format(kind=kind, r=row, bucket=bucket.format(r=row)))
    return " ".join(statements)


def _sqlite_upgrade() -> None:
    bodies = {
        "inserted": ("", _sqlite_statements("NEW", "1")),
        "updated": (
            f" WHEN {CHANGED}",
            _sqlite_statements("OLD", "-1") + " " + _sqlite_statements("NEW", "1"),
        ),
        "deleted": ("", _sqlite_statements("OLD", "-1")),
    }
    for name, (when, body) in bodies.items():
        op.execute(
            f"CREATE TRIGGER golden_thread_cases_{name} AFTER {TRIGGERS[name]} ON cases"
            f" FOR EACH ROW{when} BEGIN {body} END"
        )


# --- both ---------------------------------------------------------------------------------


def _count_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(100), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
    ]


def _backfill(keys: tuple[tuple[str, str, str], ...]) -> None:
    op.execute(
        "INSERT INTO golden_thread_counts (kind, status, source, bucket, n)"
        " SELECT kind, status, source, bucket, sum(n) FROM ("
        + _key_rows(keys, "cases", "1")
        + ") AS existing GROUP BY kind, status, source, bucket"
    )


def upgrade() -> None:
    op.create_table(
        "golden_thread_counts",
        *_count_columns(),
        sa.PrimaryKeyConstraint("kind", "status", "source", "bucket"),
    )
    op.create_table(
        "golden_thread_deltas",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *_count_columns(),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Writers of older instances wait until the triggers and the counts commit.
        op.execute("LOCK TABLE cases IN SHARE ROW EXCLUSIVE MODE")
        _postgres_upgrade()
        _backfill(POSTGRES_KEYS)
    else:
        _sqlite_upgrade()
        _backfill(SQLITE_KEYS)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGERS:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS golden_thread_cases_{name} ON cases")
            op.execute(f"DROP FUNCTION IF EXISTS golden_thread_cases_{name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS golden_thread_cases_{name}")
    op.drop_table("golden_thread_deltas")
    op.drop_table("golden_thread_counts")
