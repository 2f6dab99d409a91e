"""Retention sweeps the back office's callbacks and the recorded breaches the same way on
every engine: a callback delivered or dead before the horizon goes, one still to post
stays; a breach whose promise broke before the horizon goes."""

from __future__ import annotations

from datetime import timedelta

from tests.contract.test_golden_thread_store import LEASE, T0, H, event, record

from groundcontrol.planning.callbacks import CallbackRoutes
from groundcontrol.store.callback_views import CallbackOutcome
from groundcontrol.store.contract import Store
from groundcontrol.store.retention import run_retention

DAY = timedelta(days=1)
BREACHES = CallbackRoutes({"crm": frozenset({"case.promise_breached"})})
BROKEN = T0 + 10 * H  # the journeys' default promise is 10h


async def four_breaches(store: Store) -> dict[str, str]:
    """Four cases breach; their callbacks end sent, dead, in flight and pending.
    Returns the callback id of each."""
    store.route_callbacks(BREACHES)
    await record(store, *(event(1, "received", f"C-{n}") for n in range(4)))
    await store.fire_due_breaches(BROKEN, 100)
    sent, dead, in_flight = await store.claim_callbacks(BROKEN, 3, "w", LEASE)
    await store.finish_callback(sent, CallbackOutcome(True), BROKEN)
    await store.finish_callback(dead, CallbackOutcome(False, "HTTP 400"), BROKEN)
    [pending] = [c for c in await store.list_callbacks("pending", 10)]
    return {"sent": sent.id, "dead": dead.id, "sending": in_flight.id, "pending": pending.id}


async def states(store: Store) -> dict[str, str]:
    return {c.id: c.state for c in await store.list_callbacks(None, 100)}


async def test_delivered_and_dead_callbacks_go_the_rest_stay(store: Store) -> None:
    ids = await four_breaches(store)
    report = await store.purge(BROKEN + DAY)
    assert report.callbacks == 2
    assert await states(store) == {ids["sending"]: "sending", ids["pending"]: "pending"}


async def test_nothing_newer_than_the_horizon_goes(store: Store) -> None:
    await four_breaches(store)
    report = await store.purge(BROKEN)
    assert (report.callbacks, report.breaches) == (0, 0)
    assert len(await states(store)) == 4


async def test_a_re_driven_dead_callback_stays(store: Store) -> None:
    ids = await four_breaches(store)
    assert await store.redrive_callback(ids["dead"], BROKEN + 2 * DAY)
    report = await store.purge(BROKEN + DAY)
    assert report.callbacks == 1, "only the sent one"
    assert (await states(store))[ids["dead"]] == "pending"


async def test_breaches_whose_promise_broke_before_the_horizon_go(store: Store) -> None:
    await four_breaches(store)
    later = T0 + 5 * DAY
    await record(store, event(1, "received", "C-late"), now=later)
    await store.fire_due_breaches(later + 10 * H, 100)
    now = later + 10 * H
    assert (await store.golden_thread(now, 30 * DAY)).breaches_in_window == 5

    report = await run_retention(store, 2, BROKEN + 2 * DAY + H)

    assert report is not None and report.breaches == 4
    assert (await store.golden_thread(now, 30 * DAY)).breaches_in_window == 1
