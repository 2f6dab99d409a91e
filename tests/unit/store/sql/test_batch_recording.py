"""Reads of a group-commit batch use the indexes: their cost must not grow with the
number of rows ever stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.contract.test_store_contract import T0, event, planner
from tests.unit.store.sql.plans import plans, scans, traced

from groundcontrol.store.sql.sqlite import SqliteStore

BY_KEY = "SEARCH events USING INDEX sqlite_autoindex_events_1 (source=? AND event_id=?)"


async def _read_plan(store: SqliteStore, database: Path, sources: list[str]) -> list[str]:
    batch = [
        replace(event(f"evt-{n}", case_id=f"C-{n}"), source=source)
        for n, source in enumerate(sources)
    ]
    with traced() as seen:
        await store.record_events(batch, planner(T0), T0)
    [plan] = plans(database, seen, "FROM events WHERE")
    return plan


async def test_the_idempotency_read_searches_the_unique_index_instead_of_scanning_it(
    store: SqliteStore, database: Path
) -> None:
    plan = await _read_plan(store, database, ["crm"] * 64)
    assert not scans(plan, "events"), plan
    assert plan == [BY_KEY], plan


async def test_a_batch_from_several_sources_searches_once_per_source(
    store: SqliteStore, database: Path
) -> None:
    plan = await _read_plan(store, database, ["crm", "crm", "billing"])
    assert not scans(plan, "events"), plan
    assert plan.count(BY_KEY) == 2, plan
