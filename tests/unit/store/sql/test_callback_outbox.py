"""The admin's callback list (newest first by updated_at) reads ix_callbacks_finished, a
range per state, not every callback ever stored, and lists what sorting them all did."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from tests.unit.store.sql.plans import plans, scans, traced

from groundcontrol.store.callback_views import STATES
from groundcontrol.store.sql.schema import callbacks
from groundcontrol.store.sql.sqlite import SqliteStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def test_the_list_of_every_state_reads_a_range_per_state(
    store: SqliteStore, database: Path
) -> None:
    with traced() as seen:
        await store.list_callbacks(None, 50)
    [plan] = plans(database, seen, "SELECT")
    assert not scans(plan, "callbacks"), plan
    searches = [step for step in plan if step.startswith("SEARCH callbacks")]
    assert searches == ["SEARCH callbacks USING INDEX ix_callbacks_finished (state=?)"] * 4, plan


def _rows(count: int) -> list[dict[str, Any]]:
    pick = random.Random(3)
    return [
        {
            "id": f"cb-{pick.randrange(10**9):09d}",
            "source": "crm",
            "type": "status",
            "case_id": "C-1",
            "body": {},
            "state": pick.choice(STATES),
            "due_at": T0,
            "attempts": 0,
            "lease_version": 0,
            "created_at": T0,
            "updated_at": T0 + timedelta(seconds=pick.randrange(6)),  # many ties
        }
        for _ in range(count)
    ]


async def test_the_list_is_every_row_newest_first_ties_in_table_order(store: SqliteStore) -> None:
    rows = _rows(300)  # in table order
    async with store.write() as conn:
        await conn.execute(insert(callbacks), rows)
    for limit in (1, 7, 50, 400):
        expected = sorted(rows, key=lambda r: r["updated_at"], reverse=True)[:limit]  # stable
        got = await store.list_callbacks(None, limit)
        assert [view.id for view in got] == [r["id"] for r in expected], limit
