"""The retention sweep of the timeline and of events walks their primary keys from the
oldest and stops past the horizon: no statement reads the whole table, and a sweep that
finds nothing old reads one window, however much history is stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from tests.contract.test_store_contract import T0, event, record
from tests.unit.store.sql.plans import plans, scans, traced

from groundcontrol.store.sql.appended_sweep import MARGIN
from groundcontrol.store.sql.retention import purge
from groundcontrol.store.sql.schema import timeline
from groundcontrol.store.sql.sqlite import SqliteStore

DAY = timedelta(days=1)
HORIZON = T0 + DAY


async def test_sweeping_timeline_and_events_searches_their_keys(
    store: SqliteStore, database: Path
) -> None:
    await record(store, event("evt-1"), event("evt-2", "resolved"))
    with traced() as seen:
        report = await purge(store, HORIZON)
    assert report.timeline > 0 and report.events == 1  # evt-2 is the case's latest
    for table in ("timeline", "events"):
        statements = plans(database, seen, f"FROM {table}")
        assert len(statements) >= 2, seen  # a window read and a delete
        for plan in statements:
            assert not scans(plan, table) and not scans(plan, "cases"), plan
            assert any(step.startswith(f"SEARCH {table}") for step in plan), plan


async def _append(store: SqliteStore, *times: datetime) -> None:
    rows = [{"case_id": "C-1", "at": at, "kind": "note", "detail": {}} for at in times]
    async with store.write() as conn:
        await conn.execute(insert(timeline), rows)


async def _left(store: SqliteStore) -> int:
    async with store.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(timeline)) or 0)


async def test_a_sweep_that_finds_nothing_old_reads_one_window(
    store: SqliteStore, database: Path
) -> None:
    await _append(store, *[HORIZON + MARGIN + timedelta(seconds=n) for n in range(50)])
    with traced() as seen:
        report = await purge(store, HORIZON, batch=10)
    assert report.timeline == 0
    [window] = plans(database, seen, "FROM timeline")  # of 10 keys, not the 50
    assert not scans(window, "timeline"), window


async def test_entries_a_little_out_of_order_still_go(store: SqliteStore) -> None:
    # Clocks and commits interleave: an old entry may follow a newer one.
    just_after, just_before = HORIZON + timedelta(minutes=5), HORIZON - timedelta(seconds=1)
    await _append(store, T0, just_after, just_after, just_before, HORIZON + MARGIN, T0)
    report = await purge(store, HORIZON, batch=2)
    assert report.timeline == 3
    assert await _left(store) == 3


async def test_an_entry_far_out_of_order_waits_for_a_later_sweep(store: SqliteStore) -> None:
    # Past a whole window stamped MARGIN after the horizon, the walk stops: an entry
    # stamped earlier than that (clocks an hour apart) goes when the horizon passes it.
    await _append(store, *[HORIZON + MARGIN] * 2, T0)
    assert (await purge(store, HORIZON, batch=2)).timeline == 0
    assert (await purge(store, HORIZON + MARGIN + DAY, batch=2)).timeline == 3
