"""The retention sweep finds finished notifications and follow-ups by (state,
updated_at): an index range of the old ones, not every finished row ever stored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.contract.test_store_contract import LEASE, T0, event, record
from tests.unit.store.sql.plans import plans, scans, traced

from groundcontrol.store.contract import Decision, DecisionKind
from groundcontrol.store.sql.retention import purge
from groundcontrol.store.sql.sqlite import SqliteStore

LATER = T0 + timedelta(minutes=1)


async def test_the_sweep_reads_only_old_finished_notifications_and_follow_ups(
    store: SqliteStore, database: Path
) -> None:
    await record(store, event())  # a message and a follow-up
    [claim] = await store.claim_due(T0, 10, "w1", LEASE)
    await store.finish([(claim, Decision(DecisionKind.SENT, provider_id="p-1"))], T0)
    await record(store, event("evt-2", "resolved", at=LATER), now=LATER)  # cancels it
    with traced() as seen:
        report = await purge(store, T0 + timedelta(days=1))
    assert (report.notifications, report.follow_ups) == (1, 1)
    for table, index in (
        ("notifications", "ix_notifications_state_updated"),
        ("follow_ups", "ix_follow_ups_finished"),
    ):
        [plan] = plans(database, seen, f"DELETE FROM {table}")
        assert not scans(plan, table), plan
        # The batch picked, and re-checked as it is deleted.
        old_and_finished = [step for step in plan if step.startswith(f"SEARCH {table}")]
        assert len(old_and_finished) == 2, plan
        assert all(
            step.endswith(f"{index} (state=? AND updated_at<?)") for step in old_and_finished
        ), plan
