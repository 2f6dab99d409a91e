"""The case list without an open/closed filter walks the (is_open, ...) indexes once per
value, in dark_since order, instead of sorting every case ever stored; its pages and
cursors are the ones sorting them all gave."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from tests.unit.store.sql.plans import plans, scans, traced

from groundcontrol.store.case_views import CaseCursor, CaseFilter, CaseOrder
from groundcontrol.store.sql.schema import cases
from groundcontrol.store.sql.sqlite import SqliteStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
CURSOR = CaseCursor(T0 + timedelta(minutes=30), "C-5")
FILTERS = [
    CaseFilter(),
    CaseFilter(status="received"),
    CaseFilter(source="crm"),
    CaseFilter(breached=False),
]


@pytest.mark.parametrize("order", list(CaseOrder))
@pytest.mark.parametrize("after", [None, CURSOR])
@pytest.mark.parametrize("where", FILTERS)
async def test_a_page_of_open_and_closed_cases_searches_the_indexes(
    store: SqliteStore, database: Path, where: CaseFilter, order: CaseOrder, after: Any
) -> None:
    with traced() as seen:
        await store.list_cases(replace(where, order=order, after=after), NOW)
    [plan] = plans(database, seen, "SELECT")
    assert not scans(plan, "cases"), plan
    searches = [step for step in plan if step.startswith("SEARCH cases USING INDEX ix_cases_open")]
    assert len(searches) == 2, plan


def _rows(count: int) -> list[dict[str, Any]]:
    pick = random.Random(5)
    rows = []
    for n in range(count):
        deadline = T0 + timedelta(minutes=pick.randrange(240))
        rows.append(
            {
                "id": f"C-{n}",
                "customer_id": "cust-1",
                "status": pick.choice(["received", "resolved"]),
                "status_at": T0,
                "priority": 1,
                "data": {},
                "created_at": T0,
                "updated_at": T0,
                "source": pick.choice(["crm", "billing", None]),
                "is_open": pick.random() < 0.6,
                "dark_since": None
                if pick.random() < 0.1
                else T0 + timedelta(minutes=pick.randrange(60)),
                "deadline_epoch": pick.choice([None, deadline.timestamp()]),
            }
        )
    return rows


def _expected(rows: list[dict[str, Any]], where: CaseFilter) -> list[str]:
    def listed(r: dict[str, Any]) -> bool:
        breached = (
            r["is_open"]
            and r["deadline_epoch"] is not None
            and r["deadline_epoch"] <= NOW.timestamp()
        )
        return (
            r["dark_since"] is not None
            and (where.status is None or r["status"] == where.status)
            and (where.source is None or r["source"] == where.source)
            and (where.breached is None or breached == where.breached)
        )

    keyed = sorted(
        ((r["dark_since"], r["id"]) for r in rows if listed(r)), reverse=not where.order.ascending
    )
    return [case_id for _, case_id in keyed]


@pytest.mark.parametrize("where", FILTERS)
async def test_walking_the_pages_lists_every_case_in_order(
    store: SqliteStore, where: CaseFilter
) -> None:
    rows = _rows(300)
    async with store.write() as conn:
        await conn.execute(insert(cases), rows)
    for order in CaseOrder:
        for limit in (3, 50, 400):
            listed: list[str] = []
            after = None
            while True:
                page = await store.list_cases(
                    CaseFilter(
                        **{**where.__dict__, "order": order, "limit": limit, "after": after}
                    ),
                    NOW,
                )
                listed += [view.case_id for view in page.items]
                if page.next is None:
                    break
                assert page.next == CaseCursor(page.items[-1].thread.dark_since, listed[-1])
                after = page.next
            assert listed == _expected(rows, replace(where, order=order)), (
                order,
                limit,
            )
