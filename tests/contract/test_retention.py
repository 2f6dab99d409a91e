"""Retention on every engine: finished history past the horizon goes, live work stays,
and on PostgreSQL only one instance sweeps at a time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import Table, func, select
from tests.contract.test_store_contract import LEASE, T0, event, record
from tests.peers.postgres import POSTGRES_URL

from groundcontrol.domain import NotificationState
from groundcontrol.store import create_store
from groundcontrol.store.contract import Decision, DecisionKind, RetentionReport, Store
from groundcontrol.store.retention import run_retention
from groundcontrol.store.sql.postgres import PostgresStore
from groundcontrol.store.sql.retention import purge
from groundcontrol.store.sql.schema import attempts, events, follow_ups, notifications, timeline
from groundcontrol.store.sql.sqlite import SqliteStore

DAY = timedelta(days=1)


@pytest.fixture
def store_url(store_url: str) -> str:
    if store_url.startswith("memory"):
        pytest.skip(
            "the in-memory store sweeps callbacks and breaches only (test_callback_retention.py)"
        )
    return store_url


def sql(store: Store) -> SqliteStore | PostgresStore:
    assert isinstance(store, SqliteStore | PostgresStore)
    return store


async def count(store: Store, table: Table) -> int:
    async with sql(store).read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def sent_then_resolved(store: Store) -> tuple[str, str]:
    """Case C-1 got its first message (sent), then moved to resolved, whose message is
    still pending. Returns (sent id, pending id)."""
    [received] = await record(store, event())
    [claim] = await store.claim_due(T0, 10, "w1", LEASE)
    await store.finish([(claim, Decision(DecisionKind.SENT, provider_id="p-1"))], T0)
    later = T0 + timedelta(minutes=1)
    [resolved] = await record(store, event("evt-2", "resolved", at=later), now=later)
    return received.notification_ids[0], resolved.notification_ids[0]


async def test_finished_history_past_the_horizon_is_deleted(store: Store) -> None:
    sent_id, pending_id = await sent_then_resolved(store)

    report = await purge(sql(store), T0 + DAY)

    assert report == RetentionReport(
        notifications=1, attempts=1, follow_ups=1, timeline=report.timeline, events=1
    )
    assert report.timeline > 0 and await count(store, timeline) == 0
    assert await store.get_notification(sent_id) is None
    pending = await store.get_notification(pending_id)
    assert pending is not None and pending.state is NotificationState.PENDING


async def test_the_latest_event_of_a_case_is_kept_for_its_next_message(store: Store) -> None:
    _, pending_id = await sent_then_resolved(store)
    await purge(sql(store), T0 + DAY)

    assert await count(store, events) == 1
    [claim] = await store.claim_due(T0 + DAY, 10, "w1", LEASE)
    assert claim.notification_id == pending_id
    assert claim.event["id"] == "evt-2"


async def test_nothing_newer_than_the_horizon_is_touched(store: Store) -> None:
    await sent_then_resolved(store)
    before = [await count(store, t) for t in (notifications, attempts, follow_ups, events)]

    report = await purge(sql(store), T0)

    assert report.total == 0
    assert [await count(store, t) for t in (notifications, attempts, follow_ups, events)] == before


async def test_large_backlogs_go_in_batches(store: Store) -> None:
    for number in range(5):
        at = T0 + timedelta(minutes=number)
        await record(store, event(f"evt-{number}", "archived", at=at), now=at)
    # "archived" has no rule: only the events and their timeline entries are stored,
    # and the case keeps its latest event.
    report = await purge(sql(store), T0 + DAY, batch=2)
    assert (report.events, report.timeline) == (4, 5)
    assert await count(store, events) == 1


async def test_days_zero_keeps_everything(store: Store) -> None:
    await sent_then_resolved(store)
    assert await run_retention(sql(store), 0, T0 + 365 * DAY) is None
    assert await count(store, notifications) == 2


async def test_the_daily_job_sweeps_everything_older_than_its_days(store: Store) -> None:
    await sent_then_resolved(store)
    report = await run_retention(sql(store), 90, T0 + 91 * DAY)
    assert report is not None and report.notifications == 1


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="GC_TEST_POSTGRES_URL is not set")
async def test_only_one_postgres_instance_sweeps_at_a_time(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's")
    first, second = create_store(store_url), create_store(store_url)
    await first.open()
    await second.open()
    try:
        await sent_then_resolved(first)
        async with sql(first).singleton("retention") as holding:
            assert holding
            assert await run_retention(sql(second), 90, T0 + 91 * DAY) is None
            assert await count(second, notifications) == 2
        report = await run_retention(sql(second), 90, T0 + 91 * DAY)
        assert report is not None and report.notifications == 1
    finally:
        await first.close()
        await second.close()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="GC_TEST_POSTGRES_URL is not set")
async def test_concurrent_sweeps_on_postgres_never_both_run(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's")
    stores = [create_store(store_url) for _ in range(4)]
    for opened in stores:
        await opened.open()
    try:
        await sent_then_resolved(stores[0])
        entered = 0
        inside = 0

        async def contend(one: Store) -> None:
            nonlocal entered, inside
            async with sql(one).singleton("retention") as ours:
                if ours:
                    entered += 1
                    inside += 1
                    assert inside == 1, "two holders inside the singleton at once"
                    await asyncio.sleep(0.2)  # hold it while the others try
                    inside -= 1

        await asyncio.gather(*(contend(one) for one in stores))
        assert entered >= 1
    finally:
        for opened in stores:
            await opened.close()


async def test_sqlite_singleton_always_runs(store_url: str) -> None:
    if not store_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    store = create_store(store_url)
    singleton = sql(store).singleton
    async with singleton("retention") as first, singleton("retention") as second:
        assert first and second
    await store.close()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="GC_TEST_POSTGRES_URL is not set")
async def test_a_dropped_listen_connection_comes_back_and_wakes(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    store = create_store(store_url)
    assert isinstance(store, PostgresStore)
    await store.open()
    woken = asyncio.Event()
    try:
        await store.listen(woken.set)
        pid = store._listener.get_server_pid() if store._listener else None
        assert pid is not None
        assert POSTGRES_URL is not None
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        # The reconnect itself wakes the dispatcher once, for what it may have missed
        # (other tests' NOTIFYs on this database may wake it too: wait for the new pid).
        async with asyncio.timeout(10):
            while store._listener is None or store._listener.get_server_pid() == pid:
                await woken.wait()
                woken.clear()
        async with store.write() as conn:  # a commit that wakes the others
            await store.wake_others(conn, "events")
        await asyncio.wait_for(woken.wait(), timeout=5)
    finally:
        await store.close()
