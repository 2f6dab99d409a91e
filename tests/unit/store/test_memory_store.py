"""What the memory store adds to the contract suite: transactions roll back, and it is
chosen by URL. Everything else it means is proven by tests/contract."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from groundcontrol.domain import CaseState, Customer, CustomerPatch, Event
from groundcontrol.planning.plan import Plan
from groundcontrol.store import create_store
from groundcontrol.store.contract import NotificationFilter
from groundcontrol.store.memory import MemoryStore, StoreClosed

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def event(event_id: str, case_id: str) -> Event:
    return Event(
        source="demo",
        id=event_id,
        case_id=case_id,
        status="received",
        occurred_at=T0,
        customer=CustomerPatch("cust-1", {"email": "ada@example.com", "channels": ["email"]}),
        body_hash=event_id,
    )


def exploding_planner(event: Event, case: CaseState | None, customer: Customer) -> Plan:
    raise RuntimeError(f"planner bug on {event.id}")


async def test_a_batch_that_raises_leaves_nothing_behind() -> None:
    store = MemoryStore()
    with pytest.raises(RuntimeError, match="planner bug on evt-1"):
        await store.record_events([event("evt-1", "C-1")], exploding_planner, T0)
    assert await store.get_customer("cust-1") is None
    assert await store.timeline("C-1") is None
    assert await store.list_notifications(NotificationFilter()) == []


async def test_ping_refuses_once_closed() -> None:
    store = MemoryStore()
    await store.open()
    await store.ping()
    await store.close()
    with pytest.raises(StoreClosed):
        await store.ping()


def test_memory_url_builds_a_fresh_memory_store() -> None:
    first, second = create_store("memory://"), create_store("memory://")
    assert isinstance(first, MemoryStore)
    assert first is not second
