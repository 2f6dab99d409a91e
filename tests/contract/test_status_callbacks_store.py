"""`notification.status` on every engine: each state change of a notification of a case
whose source opted in is one callback, written with the change, in order, with an id of
its own; a source that did not opt in gets none."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.event import listen as event_listen
from sqlalchemy.event import remove as event_remove
from tests.contract.test_store_contract import LEASE, T0, event, planner, record

from groundcontrol.domain import NotificationState
from groundcontrol.planning.callbacks import CallbackRoutes
from groundcontrol.store.contract import Decision, DecisionKind, Store
from groundcontrol.store.sql.engine import SqlStore

STATUS = "notification.status"
OPTED_IN = CallbackRoutes({"demo": frozenset({STATUS})})
MINUTE = timedelta(minutes=1)

Change = tuple[str, str, str | None, int]  # notification id, state, previous, attempt


async def told(store: Store) -> list[dict[str, Any]]:
    """The bodies of the `notification.status` callbacks, oldest first."""
    views = sorted(await store.list_callbacks(None, 1000), key=lambda v: v.id)
    assert all(v.body["id"] == v.id for v in views), "the body's id is the callback's"
    return [dict(v.body) for v in views if v.type == STATUS]


async def changes(store: Store) -> list[Change]:
    return [
        (
            b["data"]["notification_id"],
            b["data"]["state"],
            b["data"]["previous_state"],
            b["data"]["attempt"],
        )
        for b in await told(store)
    ]


async def claim(store: Store, now: datetime = T0):  # type: ignore[no-untyped-def]
    [claimed] = await store.claim_due(now, 10, "w1", LEASE)
    return claimed


async def test_a_message_s_life_is_told_change_by_change(store: Store) -> None:
    store.route_callbacks(OPTED_IN)
    [accepted] = await record(store, event())
    [email] = accepted.notification_ids
    first = await claim(store)
    retry = Decision(DecisionKind.RETRY, detail="421 try later", at=T0 + MINUTE)
    await store.finish([(first, retry)], T0)
    second = await claim(store, T0 + MINUTE)
    fail = Decision(DecisionKind.FAIL, detail="550 no such user", fallback_channel="sms")
    await store.finish([(second, fail)], T0 + MINUTE)
    sms = await claim(store, T0 + MINUTE)
    sent = Decision(DecisionKind.SENT, provider_id="SM1")
    await store.finish([(sms, sent)], T0 + MINUTE)
    await store.record_provider_status("SM1", NotificationState.DELIVERED, "", T0 + 2 * MINUTE)

    assert await changes(store) == [
        (email, "pending", None, 0),
        (email, "sending", "pending", 1),
        (email, "pending", "sending", 1),
        (email, "sending", "pending", 2),
        (email, "failed", "sending", 2),
        (sms.notification_id, "pending", None, 0),
        (sms.notification_id, "sending", "pending", 1),
        (sms.notification_id, "sent", "sending", 1),
        (sms.notification_id, "delivered", "sent", 1),
    ]
    bodies = await told(store)
    assert len({b["id"] for b in bodies}) == len(bodies), "each change has its own id"
    assert {(b["case_id"], b["customer_id"], b["status"]) for b in bodies} == {
        ("C-1", "cust-1", "received")
    }
    assert [b["data"]["channel"] for b in bodies[:5]] == ["email"] * 5
    assert bodies[2]["data"]["reason"] == "421 try later"
    assert bodies[4]["data"]["reason"] == "550 no such user"
    assert "ada@example.com" not in str(bodies) and "+31612345678" not in str(bodies)


async def test_the_ids_are_stable_through_claims_and_retries(store: Store) -> None:
    store.route_callbacks(OPTED_IN)
    await record(store, event())
    [created] = await store.claim_callbacks(T0, 10, "w", LEASE)
    assert created.body["id"] == created.id and created.type == STATUS
    assert [c.id for c in await store.claim_callbacks(T0 + 2 * LEASE, 10, "w", LEASE)] == [
        created.id
    ], "an expired lease posts the same callback again, under the same id"


async def test_a_newer_status_supersedes_and_plans_in_order(store: Store) -> None:
    store.route_callbacks(OPTED_IN)
    [received] = await record(store, event())
    [resolved] = await record(store, event("evt-2", "resolved", at=T0 + MINUTE), now=T0 + MINUTE)
    old, new = received.notification_ids[0], resolved.notification_ids[0]
    assert await changes(store) == [
        (old, "pending", None, 0),
        (old, "superseded", "pending", 0),
        (new, "pending", None, 0),
    ]
    [superseded] = [b for b in await told(store) if b["data"]["state"] == "superseded"]
    assert superseded["data"]["reason"] == "newer status 'resolved'"
    assert superseded["status"] == "resolved", "the case's status after the change"


async def test_a_batch_that_plans_and_supersedes_tells_both(store: Store) -> None:
    store.route_callbacks(OPTED_IN)
    received, resolved = await record(store, event(), event("evt-2", "resolved", at=T0 + MINUTE))
    old, new = received.notification_ids[0], resolved.notification_ids[0]
    assert await changes(store) == [
        (old, "pending", None, 0),
        (old, "superseded", "pending", 0),
        (new, "pending", None, 0),
    ]


async def test_opting_out_cancels_and_tells(store: Store) -> None:
    store.route_callbacks(OPTED_IN)
    [accepted] = await record(store, event())
    await store.set_opt_out("cust-1", "email", True, "unsubscribe link", T0)
    [nid] = accepted.notification_ids
    assert (await changes(store))[-1] == (nid, "cancelled", "pending", 0)
    assert (await told(store))[-1]["data"]["reason"] == "customer opted out of email"


async def test_dead_then_re_driven(store: Store) -> None:
    store.route_callbacks(OPTED_IN)
    await record(store, event())
    claimed = await claim(store)
    await store.finish([(claimed, Decision(DecisionKind.FAIL, detail="gave up"))], T0)
    assert await store.redrive(claimed.notification_id, T0 + MINUTE)
    nid = claimed.notification_id
    assert (await changes(store))[-2:] == [(nid, "dead", "sending", 1), (nid, "pending", "dead", 0)]
    assert (await told(store))[-1]["data"]["reason"] == "gave up"


async def test_released_deferred_and_reclaimed(store: Store) -> None:
    store.route_callbacks(OPTED_IN)
    await record(store, event())
    first = await claim(store)
    await store.release([first], T0)
    second = await claim(store)
    quiet = Decision(DecisionKind.DEFER, detail="quiet hours", at=T0 + 8 * MINUTE)
    await store.finish([(second, quiet)], T0)
    await claim(store, T0 + 8 * MINUTE)
    await claim(store, T0 + 8 * MINUTE + 2 * LEASE)  # the worker was lost
    nid = first.notification_id
    assert (await changes(store))[1:] == [
        (nid, "sending", "pending", 1),
        (nid, "pending", "sending", 0),
        (nid, "sending", "pending", 1),
        (nid, "pending", "sending", 0),
        (nid, "sending", "pending", 1),
        (nid, "sending", "sending", 2),
    ]


async def test_undelivered_falls_back_and_tells_both(store: Store) -> None:
    store.route_callbacks(OPTED_IN)
    await record(store, event())
    claimed = await claim(store)
    await store.finish([(claimed, Decision(DecisionKind.SENT, provider_id="SM1"))], T0)
    await store.record_provider_status("SM1", NotificationState.UNDELIVERED, "30003", T0)
    fallback = await claim(store)
    assert (await changes(store))[-3:] == [
        (claimed.notification_id, "undelivered", "sent", 1),
        (fallback.notification_id, "pending", None, 0),
        (fallback.notification_id, "sending", "pending", 1),
    ]


async def test_a_fired_follow_up_tells_its_message(store: Store) -> None:
    store.route_callbacks(OPTED_IN)
    await record(store, event())
    await store.finish([(await claim(store), Decision(DecisionKind.SENT, provider_id="p"))], T0)
    await store.fire_due_follow_ups(T0 + 60 * MINUTE, 10)
    [follow_up] = await store.claim_due(T0 + 60 * MINUTE, 10, "w1", LEASE)
    assert (await changes(store))[-2:] == [
        (follow_up.notification_id, "pending", None, 0),
        (follow_up.notification_id, "sending", "pending", 1),
    ]


async def test_the_poison_isolating_path_tells_the_same(store: Store) -> None:
    store.route_callbacks(CallbackRoutes({"demo": frozenset({STATUS, "customer.unreachable"})}))
    nobody = event("evt-x", case_id="C-x", customer={"channels": []})
    first, second = await store.record_events_each([[event()], [nobody]], planner(T0), T0)
    assert isinstance(first, list) and isinstance(second, list)
    [accepted], [unreachable] = first, second
    assert accepted.notification_ids and unreachable.outcome == "unreachable"
    [created] = await changes(store)
    assert created == (accepted.notification_ids[0], "pending", None, 0)
    types = [c.type for c in await store.list_callbacks(None, 10)]
    assert sorted(types) == ["customer.unreachable", STATUS]


async def test_other_callbacks_of_a_change_follow_its_status_in_order(store: Store) -> None:
    store.route_callbacks(CallbackRoutes({"demo": frozenset({STATUS, "contact.invalid"})}))
    await record(store, event())
    invalid = Decision(
        DecisionKind.FAIL, detail="550", fallback_channel="sms", invalid_address=True
    )
    await store.finish([(await claim(store), invalid)], T0)
    views = sorted(await store.list_callbacks(None, 100), key=lambda v: v.id)
    told = [(v.type, v.body["data"].get("state")) for v in views]
    assert told[-3:] == [(STATUS, "failed"), (STATUS, "pending"), ("contact.invalid", None)]


async def test_a_source_that_did_not_opt_in_hears_nothing(store: Store) -> None:
    store.route_callbacks(CallbackRoutes({"demo": frozenset({"customer.unreachable"})}))
    await record(store, event())
    await store.finish([(await claim(store), Decision(DecisionKind.SENT, provider_id="p"))], T0)
    assert await store.list_callbacks(None, 100) == []


async def test_another_source_opting_in_tells_this_one_nothing(store: Store) -> None:
    store.route_callbacks(CallbackRoutes({"erp": frozenset({STATUS})}))
    await record(store, event())
    await store.finish([(await claim(store), Decision(DecisionKind.SENT, provider_id="p"))], T0)
    assert await store.list_callbacks(None, 100) == []


async def statements_for_a_message(store: Store, routes: CallbackRoutes, case_id: str) -> int:
    """How many SQL statements one message's life takes: ingest, claim, send, report."""
    assert isinstance(store, SqlStore)
    store.route_callbacks(routes)
    executed: list[str] = []

    def count(*args: Any) -> None:
        executed.append(args[2])

    event_listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        await record(store, event(f"evt-{case_id}", case_id=case_id))
        claimed = await claim(store)
        await store.finish([(claimed, Decision(DecisionKind.SENT, provider_id=case_id))], T0)
        await store.record_provider_status(case_id, NotificationState.DELIVERED, "", T0)
    finally:
        event_remove(store.engine.sync_engine, "before_cursor_execute", count)
    return len(executed)


async def test_only_an_opt_in_costs_statements(store: Store) -> None:
    if not isinstance(store, SqlStore):
        pytest.skip("counts SQL statements")
    await statements_for_a_message(store, CallbackRoutes(), "C-0")  # the customer is stored
    nobody = await statements_for_a_message(store, CallbackRoutes(), "C-1")
    other_kinds = CallbackRoutes({"demo": frozenset({"customer.unreachable"})})
    assert await statements_for_a_message(store, other_kinds, "C-2") == nobody
    assert await statements_for_a_message(store, OPTED_IN, "C-3") > nobody
