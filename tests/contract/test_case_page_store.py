"""What the case page asks of every store engine: the case, views on the timeline, and the
customer's own preferences, which the back office's updates and claims carry unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.contract.test_store_contract import LEASE, T0, event, kinds, record

from groundcontrol.domain import Customer, CustomerPatch
from groundcontrol.planning.golden_thread import Contact, ContactKind
from groundcontrol.store.contract import Decision, DecisionKind, Store


async def test_get_case_state_returns_the_case_and_its_customer(store: Store) -> None:
    await record(store, event())
    case = await store.get_case_state("C-1")
    assert case is not None
    assert (case.id, case.customer_id, case.status) == ("C-1", "cust-1", "received")
    assert case.data == {"case_title": "Address change"}
    assert await store.get_case_state("C-404") is None


async def test_a_view_is_a_contact_on_the_timeline_with_nothing_about_the_viewer(
    store: Store,
) -> None:
    await record(store, event())
    viewed = Contact(T0 + timedelta(minutes=5), ContactKind.VIEWED)
    assert await store.record_contact("C-1", viewed) is True
    entries = await store.timeline("C-1")
    assert entries is not None
    assert (entries[-1].kind, entries[-1].at) == ("viewed", T0 + timedelta(minutes=5))
    assert entries[-1].detail == {"kind": "viewed", "channel": None}
    case = await store.get_case("C-1")
    assert case is not None and case.thread.dark_since == T0 + timedelta(minutes=5)
    assert await store.record_contact("C-404", viewed) is False


async def test_preferences_are_stored_and_on_every_case_of_the_customer(store: Store) -> None:
    await record(store, event(), event("evt-2", case_id="C-2"))
    assert await store.set_preferences("cust-1", ["sms", "email"], False, T0) is True
    customer = await store.get_customer("cust-1")
    assert customer is not None
    assert (customer.channel_order, customer.quiet_hours) == (("sms", "email"), False)
    for case_id in ("C-1", "C-2"):
        assert (await kinds(store, case_id))[-1] == "preferences_changed"
    entries = await store.timeline("C-1")
    assert entries is not None
    assert entries[-1].detail == {"channel_order": ["sms", "email"], "quiet_hours": False}
    assert await store.set_preferences("cust-404", ["sms"], True, T0) is False


async def test_the_back_offices_updates_keep_the_customers_preferences(store: Store) -> None:
    await record(store, event())
    await store.set_preferences("cust-1", ["sms", "email"], False, T0)
    await record(store, event("evt-2", "resolved", at=T0 + timedelta(hours=1)))
    customer = await store.get_customer("cust-1")
    assert customer is not None
    assert (customer.channel_order, customer.quiet_hours) == (("sms", "email"), False)
    await store.put_customer(customer, T0)
    assert await store.get_customer("cust-1") == customer


async def test_a_new_customer_has_quiet_hours_on_and_no_order_of_their_own(store: Store) -> None:
    await store.put_customer(Customer(id="cust-9", channels=("email",)), T0)
    customer = await store.get_customer("cust-9")
    assert customer is not None
    assert (customer.channel_order, customer.quiet_hours) == ((), True)


async def test_the_next_message_is_planned_and_claimed_with_the_preferences(store: Store) -> None:
    await record(store, event())
    await store.set_preferences("cust-1", ["sms", "email"], False, T0)
    [result] = await record(store, event("evt-2", "resolved", at=T0 + timedelta(hours=1)))
    [nid] = result.notification_ids
    view = await store.get_notification(nid)
    assert view is not None and view.channel == "sms"
    claims = await store.claim_due(T0 + timedelta(hours=2), 10, "owner", LEASE)
    [claim] = [c for c in claims if c.notification_id == nid]
    assert (claim.customer.channel_order, claim.customer.quiet_hours) == (("sms", "email"), False)


async def test_turning_quiet_hours_off_releases_only_this_customers_held_messages(
    store: Store,
) -> None:
    grace = CustomerPatch("cust-2", {"email": "grace@example.com", "channels": ["email"]})
    await record(store, event(), replace(event("evt-2", case_id="C-2"), customer=grace))
    claims = await store.claim_due(T0, 10, "w1", LEASE)
    assert len(claims) == 2
    quiet = Decision(DecisionKind.DEFER, detail="quiet hours", at=T0 + timedelta(hours=8))
    await store.finish([(c, quiet) for c in claims], T0)
    later = T0 + timedelta(minutes=5)

    assert await store.set_preferences("cust-1", ["email"], True, later) is True
    assert await store.claim_due(later, 10, "w1", LEASE) == []  # quiet hours still on
    assert await store.set_preferences("cust-1", ["email"], False, later) is True
    released = await store.claim_due(later, 10, "w1", LEASE)
    assert [c.customer.id for c in released] == ["cust-1"]
    assert "released" in await kinds(store, "C-1")
    assert "released" not in await kinds(store, "C-2")
