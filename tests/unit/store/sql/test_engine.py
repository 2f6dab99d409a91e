"""The dispatcher's nap reads the next due time after every tick: each part of that read
must be an index seek, not a walk of the backlog."""

from __future__ import annotations

from pathlib import Path

from tests.unit.store.sql.plans import plans, scans, traced

from groundcontrol.store.sql.sqlite import SqliteStore


async def test_the_next_due_time_seeks_every_index_it_reads(
    store: SqliteStore, database: Path
) -> None:
    with traced() as seen:
        await store.next_due_at()
    [plan] = plans(database, seen, "SELECT")
    for table in ("notifications", "follow_ups", "callbacks", "cases"):
        assert not scans(plan, table), plan
    pending = (
        "SEARCH notifications USING COVERING INDEX ix_notifications_due (state=? AND priority=?)"
    )
    assert plan.count(pending) == 4, plan  # one seek per priority
