"""The golden thread's summary, however a store keeps it (the memory store computes it,
the SQL stores read counts their triggers keep), equals a direct computation over the
open cases themselves: after a mix of events, contacts, breaches, final statuses and
reopenings over many hours, after the migration rebuilt the counts from the rows, and
with two PostgreSQL instances writing at once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection
from tests.peers.postgres import fetch

from groundcontrol.domain import CustomerPatch, Event
from groundcontrol.planning.golden_thread import Contact, ContactKind, rank
from groundcontrol.planning.journeys import parse_journeys
from groundcontrol.planning.plan import planner_for
from groundcontrol.store import create_store
from groundcontrol.store.case_views import (
    Breach,
    CaseFilter,
    CaseView,
    DarkFigures,
    GoldenThreadSummary,
    GroupFigures,
)
from groundcontrol.store.contract import Decision, DecisionKind, Store
from groundcontrol.store.sql.migrate import alembic_config

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
LEASE = timedelta(seconds=30)
WINDOW = timedelta(days=1)
JOURNEYS = parse_journeys(
    {
        "defaults": {"promise": "5h"},
        "rules": [
            {"status": "received", "template": "case_received"},
            {"status": "waiting", "template": "waiting_on_customer", "promise": "2h"},
            {"status": "on_hold", "template": "case_received", "promise": "90m"},
            {"status": "resolved", "template": "case_resolved", "final": True},
        ],
    }
)
STATUSES = ("received", "waiting", "on_hold", "resolved")
SOURCES = ("crm", "erp", "web")
CUSTOMER = {"email": "ada@example.com", "channels": ["email"]}


# --- the direct computation -------------------------------------------------------------


async def open_views(store: Store, now: datetime) -> list[CaseView]:
    views: list[CaseView] = []
    page = await store.list_cases(CaseFilter(open=True, limit=50), now)
    views += page.items
    while page.next is not None:
        page = await store.list_cases(CaseFilter(open=True, limit=50, after=page.next), now)
        views += page.items
    return views


def _dark(views: Sequence[CaseView], quantile: float, now: datetime) -> float | None:
    if not views:
        return None
    seconds = sorted(v.thread.dark_seconds(now) or 0.0 for v in views)
    return seconds[rank(len(seconds), quantile)]


def _groups(views: list[CaseView], side: str, now: datetime) -> dict[str, GroupFigures]:
    grouped: dict[str, list[CaseView]] = {}
    for view in views:
        grouped.setdefault(getattr(view, side) or "", []).append(view)
    return {
        name: GroupFigures(
            len(members), sum(v.thread.breached(now) for v in members), _dark(members, 0.95, now)
        )
        for name, members in grouped.items()
    }


async def direct(store: Store, now: datetime, recorded: list[Breach]) -> dict[str, Any]:
    views = await open_views(store, now)
    return GoldenThreadSummary(
        open_cases=len(views),
        breached_now=sum(v.thread.breached(now) for v in views),
        dark_seconds=DarkFigures(
            _dark(views, 0.5, now), _dark(views, 0.95, now), _dark(views, 1.0, now)
        ),
        breaches_in_window=sum(1 for b in recorded if b.deadline >= now - WINDOW),
        by_status=_groups(views, "status", now),
        by_source=_groups(views, "source", now),
    ).public_dict(WINDOW)


async def assert_summary_is_direct(store: Store, now: datetime, recorded: list[Breach]) -> None:
    expected = await direct(store, now, recorded)
    assert (await store.golden_thread(now, WINDOW)).public_dict(WINDOW) == expected
    gauges = (expected["open_cases"], expected["breached_now"])
    assert await store.thread_counts(now) == gauges


# --- a mix of everything that moves a case ----------------------------------------------


class Workload:
    """Seeded random events, sends, page views and breach runs, as time goes by."""

    def __init__(self, store: Store, seed: int, prefix: str = "") -> None:
        self.store = store
        self.random = random.Random(seed)
        self.prefix = prefix
        self.sequence: dict[str, int] = {}
        self.breaches: list[Breach] = []

    def event(self, case_id: str, status: str, now: datetime) -> Event:
        n = self.sequence[case_id] = self.sequence.get(case_id, 0) + 1
        return Event(
            source=self.random.choice(SOURCES),
            id=f"evt-{self.prefix}{case_id}-{n}",
            case_id=case_id,
            status=status,
            occurred_at=now + n * timedelta(microseconds=1),
            customer=CustomerPatch(f"cust-{case_id}", CUSTOMER),
            body_hash=f"hash-{self.prefix}{case_id}-{n}",
        )

    async def record(self, case_ids: Sequence[str], now: datetime) -> None:
        batch = [self.event(c, self.random.choice(STATUSES), now) for c in case_ids]
        await self.store.record_events(batch, planner_for(JOURNEYS, now), now)

    async def send_some(self, now: datetime) -> None:
        claims = await self.store.claim_due(now, 100, f"worker{self.prefix}", LEASE)
        sent = [c for c in claims if self.random.random() < 0.6]  # the rest fail
        decisions = [(c, Decision(DecisionKind.SENT, provider_id=c.notification_id)) for c in sent]
        failed = [
            (c, Decision(DecisionKind.FAIL, detail="bounced")) for c in claims if c not in sent
        ]
        await self.store.finish(decisions + failed, now)

    async def step(self, case_ids: Sequence[str], now: datetime) -> None:
        await self.record(self.random.sample(case_ids, k=min(8, len(case_ids))), now)
        await self.send_some(now)
        for case_id in self.random.sample(case_ids, k=min(3, len(case_ids))):
            await self.store.record_contact(case_id, Contact(now, ContactKind.VIEWED))
        self.breaches += await self.store.fire_due_breaches(now, 5)

    async def run(self, case_ids: Sequence[str], start: datetime, steps: int) -> datetime:
        now = start
        for _ in range(steps):
            # Odd minutes and seconds: the times fall anywhere in an hour, some on one.
            now += timedelta(minutes=self.random.choice((7, 23, 41, 60, 97)), seconds=13)
            await self.step(case_ids, now)
        return now


CASES = [f"C-{n:02d}" for n in range(30)]


async def test_the_summary_equals_a_direct_computation_through_a_mix(store: Store) -> None:
    work = Workload(store, seed=19)
    await work.record(CASES, T0)
    await assert_summary_is_direct(store, T0, work.breaches)
    now = T0
    for _ in range(6):
        now = await work.run(CASES, now, steps=4)
        for later in (now, now + 30 * timedelta(minutes=1), now + 3 * H, now + 40 * H):
            await assert_summary_is_direct(store, later, work.breaches)
    assert work.breaches, "the mix recorded breaches"
    statuses = {v.status for v in await open_views(store, now)}
    assert len(statuses) > 1, "the mix left cases open in several statuses"


async def test_a_deadline_on_the_hour_counts_as_breached_from_that_instant(store: Store) -> None:
    work = Workload(store, seed=1)
    await store.record_events(
        [work.event("C-1", "waiting", T0)], planner_for(JOURNEYS, T0), T0
    )  # deadline T0 + 2h, on the hour
    await assert_summary_is_direct(store, T0 + 2 * H - timedelta(microseconds=1), [])
    summary = await store.golden_thread(T0 + 2 * H, WINDOW)
    assert (summary.open_cases, summary.breached_now) == (1, 1)
    await assert_summary_is_direct(store, T0 + 2 * H, [])


def _rebuild(connection: Connection) -> None:
    config = alembic_config(connection)
    command.downgrade(config, "0006")
    command.upgrade(config, "head")


async def test_the_migration_counts_the_cases_already_stored(store: Store, store_url: str) -> None:
    if store_url.startswith("memory"):
        pytest.skip("the memory store has nothing to migrate")
    work = Workload(store, seed=7)
    await work.record(CASES, T0)
    now = await work.run(CASES, T0, steps=6)
    engine = store.engine  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        await conn.run_sync(_rebuild)  # the counts start again from the rows
    await assert_summary_is_direct(store, now + H, work.breaches)


async def test_two_instances_writing_at_once_keep_the_summary_exact(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL has two instances writing at once")
    first, second = create_store(store_url), create_store(store_url)
    await first.open()
    await second.open()
    try:
        one, two = Workload(first, seed=1, prefix="a"), Workload(second, seed=2, prefix="b")
        await one.record(CASES, T0)

        async def read_while_writing(store: Store) -> None:
            for n in range(12):
                await store.golden_thread(T0 + n * H, WINDOW)  # folds while others append

        # Both instances move the same cases at once: sends, views, status changes,
        # breach runs, and reads that fold the counts.
        ends = await asyncio.gather(
            one.run(CASES, T0, steps=12),
            two.run(CASES, T0, steps=12),
            read_while_writing(first),
            read_while_writing(second),
        )
        now = max(e for e in ends if e is not None)
        recorded = one.breaches + two.breaches
        # (Each instance runs its own clock here, hours apart: what the summary must get
        # right is every figure, not realistic timing. Breach-once-per-stretch across
        # instances is test_golden_thread_store.py's.)
        for store in (first, second):
            await assert_summary_is_direct(store, now, recorded)
            await assert_summary_is_direct(store, now + 5 * H, recorded)
    finally:
        await first.close()
        await second.close()


async def test_the_clock_folds_the_deltas_where_nobody_reads_the_summary(
    store: Store, store_url: str
) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL's triggers append deltas")
    work = Workload(store, seed=3)
    await work.record(CASES, T0)
    pending = "SELECT count(*) AS n FROM golden_thread_deltas"
    assert (await fetch(store_url, pending))[0]["n"] > 0
    await store.fire_due_breaches(T0, 10)  # a clock tick
    assert (await fetch(store_url, pending))[0]["n"] == 0
    await assert_summary_is_direct(store, T0 + H, [])
