"""The recent-notifications list reads an index range per state, not every notification
ever stored, and lists the same rows in the same order as sorting them all did."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from tests.unit.store.sql.plans import plans, scans, traced

from groundcontrol.domain import NotificationState
from groundcontrol.store.contract import NotificationFilter
from groundcontrol.store.sql.schema import notifications
from groundcontrol.store.sql.sqlite import SqliteStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DEAD = NotificationState.DEAD
STATES = [state.value for state in NotificationState]
BY_STATE = "SEARCH notifications USING INDEX ix_notifications_state_updated (state=?)"


async def _plan(store: SqliteStore, database: Path, where: NotificationFilter) -> list[str]:
    with traced() as seen:
        await store.list_notifications(where)
    [plan] = plans(database, seen, "SELECT")
    return plan


@pytest.mark.parametrize(
    "where", [NotificationFilter(), NotificationFilter(channel="sms"), NotificationFilter(DEAD)]
)
async def test_the_list_reads_newest_first_per_state_by_index(
    store: SqliteStore, database: Path, where: NotificationFilter
) -> None:
    plan = await _plan(store, database, where)
    assert not scans(plan, "notifications"), plan
    assert BY_STATE in plan, plan


async def test_a_cases_list_reads_the_cases_rows_not_a_whole_state(
    store: SqliteStore, database: Path
) -> None:
    plan = await _plan(store, database, NotificationFilter(DEAD, case_id="C-1"))
    assert plan[0] == "SEARCH notifications USING INDEX ix_notifications_case (case_id=?)", plan


def _rows(count: int) -> list[dict[str, Any]]:
    pick = random.Random(7)
    return [
        {
            "id": f"n_{pick.randrange(10**9):09d}",
            "case_id": f"C-{pick.randrange(4)}",
            "customer_id": "cust-1",
            "kind": "status",
            "template": "t",
            "status": "received",
            "channel": pick.choice(["sms", "email"]),
            "state": pick.choice(STATES),
            "priority": pick.randrange(3),
            "due_at": T0 + timedelta(seconds=pick.randrange(3)),
            "attempts": 0,
            "lease_version": 0,
            "message_key": "m",
            "tried_channels": [],
            "created_at": T0,
            "updated_at": T0 + timedelta(seconds=pick.randrange(6)),  # many ties
        }
        for _ in range(count)
    ]


async def test_the_page_is_every_matching_row_newest_first_ties_in_table_order(
    store: SqliteStore,
) -> None:
    rows = _rows(400)  # in table order
    async with store.write() as conn:
        await conn.execute(insert(notifications), rows)
    for state in (None, *NotificationState):
        for channel in (None, "sms"):
            for limit in (1, 7, 100, 500):
                where = NotificationFilter(state, channel, limit=limit)
                got = [view.id for view in await store.list_notifications(where)]
                assert got == _expected(rows, where), where


def _expected(rows: list[dict[str, Any]], where: NotificationFilter) -> list[str]:
    matching = [
        r
        for r in rows
        if (where.state is None or r["state"] == where.state.value)
        and (where.channel is None or r["channel"] == where.channel)
    ]
    matching.sort(key=lambda r: r["updated_at"], reverse=True)  # stable: table order in ties
    return [r["id"] for r in matching[: where.limit]]
