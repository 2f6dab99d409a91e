"""A batch recorded at once leaves exactly what recording its events one by one leaves.

Random sequences mix new and known cases, status changes, repeats of a status, stale
events, priority raises, duplicates, conflicting ids, customer changes and references
to unknown customers, over a store that already holds earlier work.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from tests.contract.test_store_contract import T0, planner

from groundcontrol.delivery.batching import GroupCommitter
from groundcontrol.domain import CustomerPatch, Event, Priority
from groundcontrol.store import create_store
from groundcontrol.store.contract import IngestResult, IngestStatus, NotificationFilter, Store

STATUSES = ["received", "resolved", "escalated", "archived"]
CASES = [f"C-{n}" for n in range(5)]
CUSTOMERS = [f"cust-{n}" for n in range(3)]
ID = re.compile(r"\bn_[0-9a-f]{32}\b")


def random_events(rng: random.Random, count: int, prefix: str) -> list[Event]:
    made: list[Event] = []
    for n in range(count):
        if made and rng.random() < 0.15:  # the same id again: a duplicate or a conflict
            again = rng.choice(made)
            body = again.body_hash if rng.random() < 0.6 else f"other-{n}"
            made.append(replace(again, body_hash=body))
            continue
        customer = rng.choice(CUSTOMERS)
        fields: dict[str, Any] = {}
        if rng.random() < 0.8:
            fields = {"email": f"{customer}@example.com", "channels": ["email", "sms"]}
            if rng.random() < 0.5:
                fields["phone"] = "+31612345678"
            if rng.random() < 0.3:
                fields["name"] = rng.choice(["Ada", "Grace", "Edsger"])
        made.append(
            Event(
                source=rng.choice(["crm", "erp"]),
                id=f"{prefix}-{n}",
                case_id=rng.choice(CASES),
                status=rng.choice(STATUSES),
                occurred_at=T0 + timedelta(minutes=rng.randint(0, 60)),
                customer=CustomerPatch(customer, fields),
                priority=rng.choice([None, None, Priority.LOW, Priority.HIGH, Priority.URGENT]),
                data={"step": n, "title": rng.choice(["Address change", "Claim"])},
                body_hash=f"hash-{prefix}-{n}",
            )
        )
    return made


async def snapshot(store: Store) -> dict[str, Any]:
    """Everything the store shows about the cases, with generated ids numbered in order."""
    names: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        return names.setdefault(match.group(0), f"n{len(names)}")

    views = {}
    for case in CASES:
        entries = await store.timeline(case)
        views[case] = [
            ID.sub(name, repr((e.kind, e.notification_id, sorted(e.detail.items()))))
            for e in entries or []
        ]
    rows = await store.list_notifications(NotificationFilter(limit=10_000))
    notifications = sorted(
        ID.sub(
            name,
            repr((n.id, n.case_id, n.kind, n.template, n.status, n.channel, n.state, n.priority)),
        )
        for n in rows
    )
    customers = [await store.get_customer(c) for c in CUSTOMERS]
    return {
        "timeline": views,
        "notifications": notifications,
        "customers": customers,
        "states": await store.state_counts(),
        "next_due": await store.next_due_at(),
    }


@pytest.mark.parametrize("seed", range(6))
async def test_a_batch_equals_its_events_one_by_one(store_url: str, seed: int) -> None:
    rng = random.Random(seed)
    earlier = random_events(rng, 12, "early")
    batch = random_events(rng, 40, "batch")
    batched = create_store(store_url)
    if "search_path=" in store_url:
        one_by_one = create_store(store_url.replace("search_path=", "search_path=one_"))
    else:
        one_by_one = create_store(store_url.replace("contract.db", "one_by_one.db"))
    for store in (batched, one_by_one):
        await store.open()
        for event in earlier:  # the store already holds some work
            await store.record_events([event], planner(T0), T0)
    now = T0 + timedelta(minutes=5)
    try:
        batch_results = await batched.record_events(batch, planner(now), now)
        single_results = [
            (await one_by_one.record_events([event], planner(now), now))[0] for event in batch
        ]
        assert [(r.status, r.outcome, len(r.notification_ids)) for r in batch_results] == [
            (r.status, r.outcome, len(r.notification_ids)) for r in single_results
        ]
        assert await snapshot(batched) == await snapshot(one_by_one)
    finally:
        await batched.close()
        await one_by_one.close()
        await _drop_extra_schema(store_url)


async def _drop_extra_schema(store_url: str) -> None:
    if "search_path=" not in store_url:
        return
    import asyncpg

    base, schema = store_url.split("?", 1)[0], store_url.split("search_path=", 1)[1]
    connection = await asyncpg.connect(base)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "one_{schema}" CASCADE')
    finally:
        await connection.close()


async def test_two_instances_racing_on_the_same_events_record_each_once(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL has two instances writing at once")
    first, second = create_store(store_url), create_store(store_url)
    await first.open()
    await second.open()
    rng = random.Random(7)
    events = random_events(rng, 30, "race")
    committers: list[GroupCommitter[Event, IngestResult]] = [
        GroupCommitter(partial(_record_with, store)) for store in (first, second)
    ]
    try:
        # Each instance gets every event, as a sender retrying through a load balancer would.
        answers = await asyncio.gather(
            *(committer.submit([event]) for committer in committers for event in events)
        )
        for committer in committers:
            await committer.stop()
        accepted: dict[tuple[str, str], list[IngestResult]] = {}
        for (result,), event in zip(answers, events + events, strict=True):
            if result.status is IngestStatus.ACCEPTED:
                accepted.setdefault((event.source, event.id), []).append(result)
        # Each event was recorded by exactly one instance, once...
        assert all(len(results) == 1 for results in accepted.values())
        # ...and the store holds exactly the messages those answers planned: none twice.
        planned = {nid for [result] in accepted.values() for nid in result.notification_ids}
        rows = await first.list_notifications(NotificationFilter(limit=10_000))
        assert {row.id for row in rows} == planned
        assert planned
    finally:
        await first.close()
        await second.close()
        await _drop_extra_schema(store_url)


async def _record_with(store: Store, batch: Sequence[Event]) -> list[IngestResult]:
    return await store.record_events(batch, planner(T0), T0)
