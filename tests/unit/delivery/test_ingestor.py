"""The Ingestor: group commit, the planner at the clock's time, and the dispatcher wake-up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from tests.contract.test_store_contract import JOURNEYS, T0, event

from groundcontrol.delivery.ingestor import Ingestor
from groundcontrol.domain import Event, IngestResult, IngestStatus
from groundcontrol.planning.plan import Planner
from groundcontrol.store.contract import NotificationFilter
from groundcontrol.store.memory import MemoryStore


class CountingStore(MemoryStore):
    """The memory store, counting commits (one `record_events` call is one commit)."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[int] = []

    async def record_events(
        self, events: Sequence[Event], planner: Planner, now: datetime
    ) -> list[IngestResult]:
        self.commits.append(len(events))
        await asyncio.sleep(0)  # let other callers queue, as a real commit would
        return await super().record_events(events, planner, now)


def ingestor(store: MemoryStore, wakes: list[int], now: datetime = T0) -> Ingestor:
    return Ingestor(store, JOURNEYS, lambda: now, lambda: wakes.append(1))


async def test_an_event_is_committed_and_planned_at_the_clocks_time_then_wakes() -> None:
    store, wakes = MemoryStore(), list[int]()
    later = T0 + timedelta(minutes=5)
    ingest = ingestor(store, wakes, now=later)

    [result] = await ingest.ingest([event()])
    await ingest.stop()

    assert result.status is IngestStatus.ACCEPTED
    [planned] = await store.list_notifications(NotificationFilter(case_id="C-1"))
    assert (planned.template, planned.due_at) == ("case_received", later)
    assert wakes == [1]


async def test_concurrent_callers_share_commits_and_each_gets_its_own_results() -> None:
    store, wakes = CountingStore(), list[int]()
    ingest = ingestor(store, wakes)

    results = await asyncio.gather(
        *(ingest.ingest([event(f"evt-{n}", case_id=f"C-{n}")]) for n in range(10))
    )
    await ingest.stop()

    assert [r.event_id for [r] in results] == [f"evt-{n}" for n in range(10)]
    assert sum(store.commits) == 10
    assert len(store.commits) < 10  # a burst shares transactions
    assert len(wakes) == 10


async def test_a_duplicate_is_answered_from_the_store_and_sends_nothing_new() -> None:
    store, wakes = MemoryStore(), list[int]()
    ingest = ingestor(store, wakes)

    first = await ingest.ingest([event()])
    again = await ingest.ingest([event()])
    await ingest.stop()

    assert again[0].status is IngestStatus.DUPLICATE
    assert again[0].notification_ids == first[0].notification_ids
    assert len(await store.list_notifications(NotificationFilter())) == 1
