"""record_events_each: each caller's events under their own savepoint, one commit; a
group that fails is undone alone (the group commit's retry of a failed batch)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.contract.test_store_contract import T0, event, planner

from groundcontrol.domain import CaseState, Customer, Event
from groundcontrol.planning.callbacks import CallbackRoutes
from groundcontrol.planning.plan import Plan, Planner
from groundcontrol.store.contract import IngestStatus, Store


def poisoned(now: datetime) -> Planner:
    """The real planner, except that it breaks on any case whose id starts with BAD."""
    real = planner(now)

    def plan(event: Event, before: CaseState | None, customer: Customer) -> Plan:
        if event.case_id.startswith("BAD"):
            raise RuntimeError(f"poison {event.case_id}")
        return real(event, before, customer)

    return plan


async def test_a_failing_group_is_undone_alone(store: Store) -> None:
    groups = [
        [event("evt-1", case_id="C-1")],
        [event("evt-2", case_id="C-2"), event("evt-bad", case_id="BAD-1")],
        [event("evt-3", case_id="C-3")],
    ]
    first, failed, last = await store.record_events_each(groups, poisoned(T0), T0)
    assert isinstance(failed, RuntimeError)
    assert isinstance(first, list) and isinstance(last, list)
    assert [r.status for r in (*first, *last)] == [IngestStatus.ACCEPTED] * 2
    assert await store.timeline("C-1") is not None
    assert await store.timeline("C-3") is not None
    # The whole failed group is undone, its good event too: its caller gets the error.
    assert await store.timeline("C-2") is None
    assert await store.timeline("BAD-1") is None
    [again] = await store.record_events([event("evt-2", case_id="C-2")], planner(T0), T0)
    assert again.status is IngestStatus.ACCEPTED


async def test_an_isolated_batch_still_tells_the_back_office_who_cannot_be_reached(
    store: Store,
) -> None:
    store.route_callbacks(CallbackRoutes({"demo": frozenset({"customer.unreachable"})}))
    no_address = event("evt-1", case_id="C-1", customer={"name": "Ada"})
    groups = [[no_address], [event("evt-bad", case_id="BAD-1")]]

    reached, failed = await store.record_events_each(groups, poisoned(T0), T0)

    assert isinstance(failed, RuntimeError)
    assert isinstance(reached, list) and reached[0].outcome == "unreachable"
    [told] = await store.claim_callbacks(T0, 10, "w", timedelta(seconds=30))
    assert (told.type, told.case_id) == ("customer.unreachable", "C-1")
