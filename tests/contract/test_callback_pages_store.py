"""Every engine pages its callbacks the same way: newest first, filtered by state, type
and source, in keyset pages that neither skip nor repeat a row."""

from __future__ import annotations

from datetime import timedelta

from tests.contract.test_store_contract import LEASE, T0, event, record

from groundcontrol.planning.callbacks import CallbackRoutes
from groundcontrol.store.callback_views import CallbackFilter, CallbackOutcome
from groundcontrol.store.contract import Store

EVERYTHING = CallbackRoutes({"demo": frozenset({"notification.status", "customer.unreachable"})})
NOBODY: dict[str, object] = {"channels": []}


async def some_callbacks(store: Store) -> None:
    """Five cases a minute apart: each a created message (status), and one unreachable."""
    store.route_callbacks(EVERYTHING)
    for n in range(5):
        at = T0 + n * timedelta(minutes=1)
        await record(store, event(f"evt-{n}", case_id=f"C-{n}", at=at), now=at)
    await record(store, event("evt-x", case_id="C-x", customer=NOBODY), now=T0)


async def test_pages_go_newest_first_without_gaps_or_repeats(store: Store) -> None:
    await some_callbacks(store)
    seen, after = [], None
    while True:
        page = await store.page_callbacks(CallbackFilter(limit=2, after=after))
        seen += page.items
        if page.next is None:
            break
        after = page.next
    assert len(seen) == len({v.id for v in seen}) == 6
    keys = [(v.created_at, v.id) for v in seen]
    assert keys == sorted(keys, reverse=True)
    assert seen[0].case_id == "C-4"


async def test_filters_by_type_source_and_state(store: Store) -> None:
    await some_callbacks(store)
    [unreachable] = (await store.page_callbacks(CallbackFilter(type="customer.unreachable"))).items
    assert unreachable.case_id == "C-x"
    assert (await store.page_callbacks(CallbackFilter(source="erp"))).items == []
    [claimed, *_] = await store.claim_callbacks(T0 + timedelta(hours=1), 1, "w", LEASE)
    await store.finish_callback(claimed, CallbackOutcome(False, "HTTP 400"), T0)
    [dead] = (await store.page_callbacks(CallbackFilter(state="dead"))).items
    assert (dead.id, dead.last_error) == (claimed.id, "HTTP 400")
    page = await store.page_callbacks(CallbackFilter(state="pending", limit=100))
    assert len(page.items) == 5 and page.next is None


async def test_one_callback_by_id(store: Store) -> None:
    await some_callbacks(store)
    [newest] = (await store.page_callbacks(CallbackFilter(limit=1))).items
    assert await store.get_callback(newest.id) == newest
    assert await store.get_callback("cb_nope") is None


async def test_a_claim_takes_at_most_its_limit_oldest_first(store: Store) -> None:
    await some_callbacks(store)
    later = T0 + timedelta(hours=1)
    first = await store.claim_callbacks(later, 2, "w", LEASE)
    second = await store.claim_callbacks(later, 2, "w", LEASE)
    assert len(first) == len(second) == 2, "PostgreSQL once claimed more than the limit"
    ids = [c.id for c in first + second]
    assert ids == sorted(ids), "in the order they were planned"
