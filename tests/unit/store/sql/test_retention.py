"""The notifications' retention sweep finds finished ones by (state, updated_at): an
index range of the old ones, not every finished notification ever stored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.contract.test_store_contract import LEASE, T0, event, record
from tests.unit.store.sql.plans import plans, scans, traced

from groundcontrol.store.contract import Decision, DecisionKind
from groundcontrol.store.sql.retention import purge
from groundcontrol.store.sql.sqlite import SqliteStore

OLD_AND_FINISHED = (
    "SEARCH notifications USING INDEX ix_notifications_state_updated (state=? AND updated_at<?)"
)


async def test_the_notifications_sweep_reads_only_old_finished_ones(
    store: SqliteStore, database: Path
) -> None:
    await record(store, event())
    [claim] = await store.claim_due(T0, 10, "w1", LEASE)
    await store.finish([(claim, Decision(DecisionKind.SENT, provider_id="p-1"))], T0)
    with traced(store) as seen:
        report = await purge(store, T0 + timedelta(days=1))
    assert report.notifications == 1
    [plan] = plans(database, seen, "DELETE FROM notifications")
    assert not scans(plan, "notifications"), plan
    assert plan.count(OLD_AND_FINISHED) == 2, plan  # the batch picked, and re-checked
