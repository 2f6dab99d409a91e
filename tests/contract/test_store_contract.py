"""Every store engine means the same thing by each domain operation."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from groundcontrol.domain import CustomerPatch, Event, NotificationState, Priority
from groundcontrol.planning.journeys import Journeys, parse_journeys
from groundcontrol.planning.plan import planner_for
from groundcontrol.store.contract import (
    Decision,
    DecisionKind,
    IngestStatus,
    NotificationFilter,
    Planner,
    Store,
)

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)

JOURNEYS = parse_journeys(
    {
        "rules": [
            {
                "status": "received",
                "template": "case_received",
                "follow_up": {"after": "1h", "template": "still_working", "every": "2h", "max": 2},
            },
            {"status": "resolved", "template": "case_resolved"},
            {"status": "escalated", "template": "case_received", "priority": "urgent"},
        ]
    }
)

CUSTOMER = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+31612345678",
    "channels": ["email", "sms"],
}


def event(
    event_id: str = "evt-1",
    status: str = "received",
    *,
    case_id: str = "C-1",
    at: datetime = T0,
    customer: dict[str, object] | None = None,
    body_hash: str | None = None,
    priority: Priority | None = None,
) -> Event:
    fields = CUSTOMER if customer is None else customer
    return Event(
        source="demo",
        id=event_id,
        case_id=case_id,
        status=status,
        occurred_at=at,
        customer=CustomerPatch("cust-1", fields),
        priority=priority,
        data={"case_title": "Address change"},
        body_hash=body_hash or f"hash-{event_id}",
    )


def planner(now: datetime, journeys: Journeys = JOURNEYS) -> Planner:
    return planner_for(journeys, now)


async def record(store: Store, *events: Event, now: datetime = T0):  # type: ignore[no-untyped-def]
    return await store.record_events(list(events), planner(now), now)


async def kinds(store: Store, case_id: str = "C-1") -> list[str]:
    entries = await store.timeline(case_id)
    assert entries is not None
    return [e.kind for e in entries]


# --- ingest ---------------------------------------------------------------------------


async def test_an_accepted_event_plans_a_message_and_a_follow_up(store: Store) -> None:
    [result] = await record(store, event())
    assert result.status is IngestStatus.ACCEPTED
    assert result.outcome == "planned"
    [nid] = result.notification_ids
    view = await store.get_notification(nid)
    assert view is not None
    assert (view.state, view.channel, view.template) == (
        NotificationState.PENDING,
        "email",
        "case_received",
    )
    assert await kinds(store) == ["event", "planned", "follow_up_scheduled"]


async def test_the_same_event_again_is_a_duplicate_with_the_first_result(store: Store) -> None:
    [first] = await record(store, event())
    [again] = await record(store, event())
    assert again.status is IngestStatus.DUPLICATE
    assert again.notification_ids == first.notification_ids
    assert len(await store.list_notifications(NotificationFilter())) == 1


async def test_the_same_id_with_another_body_is_a_conflict(store: Store) -> None:
    await record(store, event())
    [other] = await record(store, event(body_hash="something-else"))
    assert other.status is IngestStatus.CONFLICT
    assert len(await store.list_notifications(NotificationFilter())) == 1


async def test_duplicates_inside_one_batch_are_recognised(store: Store) -> None:
    first, second = await record(store, event(), event())
    assert (first.status, second.status) == (IngestStatus.ACCEPTED, IngestStatus.DUPLICATE)


async def test_an_unknown_customer_reference_stores_nothing(store: Store) -> None:
    [result] = await record(store, event(customer={}))
    assert result.status is IngestStatus.UNKNOWN_CUSTOMER
    assert await store.timeline("C-1") is None
    assert await store.get_customer("cust-1") is None


async def test_an_inline_customer_is_upserted_field_by_field(store: Store) -> None:
    await record(store, event())
    await record(
        store,
        event("evt-2", "resolved", customer={"name": "Ada King"}),
        now=T0 + timedelta(minutes=1),
    )
    customer = await store.get_customer("cust-1")
    assert customer is not None
    assert (customer.name, customer.email) == ("Ada King", "ada@example.com")


async def test_an_older_event_is_recorded_and_sends_nothing(store: Store) -> None:
    await record(store, event("evt-2", "resolved", at=T0 + timedelta(hours=1)))
    [stale] = await record(store, event("evt-1", "received", at=T0))
    assert stale.outcome == "stale"
    assert stale.notification_ids == ()
    assert (await kinds(store))[-1] == "event"


async def test_a_newer_status_supersedes_pending_messages_and_follow_ups(store: Store) -> None:
    [received] = await record(store, event())
    await record(
        store,
        event("evt-2", "resolved", at=T0 + timedelta(minutes=5)),
        now=T0 + timedelta(minutes=5),
    )
    old = await store.get_notification(received.notification_ids[0])
    assert old is not None and old.state is NotificationState.SUPERSEDED
    later = T0 + timedelta(days=1)
    assert await store.fire_due_follow_ups(later, 100) == 0
    assert "follow_up_cancelled" in await kinds(store)


async def test_a_status_without_a_rule_is_recorded_and_sends_nothing(store: Store) -> None:
    [result] = await record(store, event(status="archived"))
    assert (result.status, result.outcome, result.notification_ids) == (
        IngestStatus.ACCEPTED,
        "no_rule",
        (),
    )


# --- claims and leases ------------------------------------------------------------------


async def test_claims_take_due_work_most_urgent_first(store: Store) -> None:
    await record(store, event(case_id="C-normal"))
    await record(
        store, event("evt-u", "escalated", case_id="C-urgent"), now=T0 + timedelta(seconds=1)
    )
    claims = await store.claim_due(T0 + timedelta(seconds=2), 10, "w1", LEASE)
    assert [c.case.id for c in claims] == ["C-urgent", "C-normal"]
    assert all(c.attempt == 1 and c.lease_version == 1 for c in claims)


async def test_the_limit_takes_the_most_urgent_of_pending_work_and_expired_leases(
    store: Store,
) -> None:
    await record(store, event(case_id="C-expired"))
    [crashed] = await store.claim_due(T0, 10, "w1", LEASE)  # its worker dies
    await record(store, event("evt-2", case_id="C-later"), now=T0 + timedelta(seconds=1))
    await record(
        store, event("evt-u", "escalated", case_id="C-urgent"), now=T0 + timedelta(seconds=2)
    )
    claims = await store.claim_due(T0 + LEASE + timedelta(seconds=3), 2, "w2", LEASE)
    assert [c.case.id for c in claims] == ["C-urgent", "C-expired"]
    assert claims[1].notification_id == crashed.notification_id


async def test_nothing_is_claimed_before_it_is_due(store: Store) -> None:
    await record(store, event())
    assert await store.claim_due(T0 - timedelta(seconds=1), 10, "w1", LEASE) == []


async def test_a_claimed_notification_is_not_claimed_twice(store: Store) -> None:
    await record(store, event())
    first = await store.claim_due(T0, 10, "w1", LEASE)
    second = await store.claim_due(T0 + timedelta(seconds=1), 10, "w2", LEASE)
    assert len(first) == 1 and second == []


async def test_concurrent_claimers_never_share_a_notification(store: Store) -> None:
    for i in range(20):
        await record(store, event(f"evt-{i}", case_id=f"C-{i}"))
    batches = await asyncio.gather(*(store.claim_due(T0, 5, f"w{i}", LEASE) for i in range(6)))
    ids = [c.notification_id for batch in batches for c in batch]
    assert len(ids) == len(set(ids)) == 20


async def test_an_expired_lease_is_reclaimed_and_the_late_result_refused(store: Store) -> None:
    await record(store, event())
    [first] = await store.claim_due(T0, 10, "w1", LEASE)
    [second] = await store.claim_due(T0 + LEASE + timedelta(seconds=1), 10, "w2", LEASE)
    assert second.notification_id == first.notification_id
    assert (second.lease_version, second.attempt) == (2, 2)
    late = Decision(DecisionKind.SENT, provider_id="late")
    assert await store.finish([(first, late)], T0 + timedelta(minutes=1)) == [False]
    assert await store.finish([(second, Decision(DecisionKind.SENT, provider_id="p2"))], T0) == [
        True
    ]
    view = await store.get_notification(first.notification_id)
    assert view is not None
    assert (view.state, view.provider_id) == (NotificationState.SENT, "p2")
    assert [a.outcome for a in view.attempt_log] == ["fenced", "sent"]


async def test_the_claim_carries_the_latest_case_and_customer(store: Store) -> None:
    await record(store, event())
    [claim] = await store.claim_due(T0, 10, "w1", LEASE)
    assert claim.case.data == {"case_title": "Address change"}
    assert claim.customer.email == "ada@example.com"
    assert claim.event["id"] == "evt-1"


# --- outcomes ----------------------------------------------------------------------------


async def claim_one(store: Store, now: datetime = T0):  # type: ignore[no-untyped-def]
    await record(store, event(), now=now)
    [claim] = await store.claim_due(now, 10, "w1", LEASE)
    return claim


async def test_sent_records_the_provider_id_and_the_time(store: Store) -> None:
    claim = await claim_one(store)
    await store.finish([(claim, Decision(DecisionKind.SENT, provider_id="SM1", segments=2))], T0)
    view = await store.get_notification(claim.notification_id)
    assert view is not None
    assert (view.state, view.provider_id, view.segments) == (NotificationState.SENT, "SM1", 2)
    assert await store.recent_sends("cust-1", T0 - timedelta(hours=1)) == [T0]


async def test_a_retry_is_due_again_later_with_the_attempt_counted(store: Store) -> None:
    claim = await claim_one(store)
    at = T0 + timedelta(minutes=2)
    await store.finish([(claim, Decision(DecisionKind.RETRY, detail="503", at=at))], T0)
    assert await store.claim_due(at - timedelta(seconds=1), 10, "w1", LEASE) == []
    [again] = await store.claim_due(at, 10, "w1", LEASE)
    assert again.attempt == 2
    assert "retry_scheduled" in await kinds(store)


async def test_a_deferral_does_not_count_as_an_attempt(store: Store) -> None:
    claim = await claim_one(store)
    at = T0 + timedelta(hours=8)
    await store.finish([(claim, Decision(DecisionKind.DEFER, detail="quiet hours", at=at))], T0)
    [again] = await store.claim_due(at, 10, "w1", LEASE)
    assert again.attempt == 1


async def test_a_failure_falls_back_to_a_linked_notification(store: Store) -> None:
    claim = await claim_one(store)
    decision = Decision(DecisionKind.FAIL, detail="550 no such user", fallback_channel="sms")
    await store.finish([(claim, decision)], T0)
    [fallback] = await store.claim_due(T0, 10, "w1", LEASE)
    assert (fallback.channel, fallback.tried_channels) == ("sms", ("email",))
    view = await store.get_notification(fallback.notification_id)
    assert view is not None and view.previous_id == claim.notification_id
    old = await store.get_notification(claim.notification_id)
    assert old is not None and old.state is NotificationState.FAILED
    assert {"failed", "fallback"} <= set(await kinds(store))


async def test_a_failure_with_no_channel_left_is_dead_and_can_be_redriven(store: Store) -> None:
    claim = await claim_one(store)
    await store.finish([(claim, Decision(DecisionKind.FAIL, detail="gave up"))], T0)
    dead = await store.list_notifications(NotificationFilter(state=NotificationState.DEAD))
    assert [d.id for d in dead] == [claim.notification_id]
    assert await store.redrive(claim.notification_id, T0) is True
    assert await store.redrive(claim.notification_id, T0) is False  # pending now, not dead
    [again] = await store.claim_due(T0, 10, "w1", LEASE)
    assert again.notification_id == claim.notification_id
    assert {"dead", "redriven"} <= set(await kinds(store))


async def test_a_provider_opt_out_is_remembered_on_the_customer(store: Store) -> None:
    claim = await claim_one(store)
    decision = Decision(DecisionKind.FAIL, detail="21610", opt_out=True, fallback_channel="sms")
    await store.finish([(claim, decision)], T0)
    customer = await store.get_customer("cust-1")
    assert customer is not None and customer.opted_out == frozenset({"email"})


async def test_release_gives_a_claim_back_unattempted(store: Store) -> None:
    claim = await claim_one(store)
    await store.release([claim], T0)
    [again] = await store.claim_due(T0, 10, "w1", LEASE)
    assert again.attempt == 1


# --- callbacks and opt-outs ------------------------------------------------------------------


async def test_provider_reports_only_move_forward(store: Store) -> None:
    claim = await claim_one(store)
    await store.finish([(claim, Decision(DecisionKind.SENT, provider_id="SM1"))], T0)
    assert await store.record_provider_status("SM1", NotificationState.DELIVERED, "", T0) is True
    assert await store.record_provider_status("SM1", NotificationState.UNDELIVERED, "", T0) is False
    assert await store.record_provider_status("SM1", NotificationState.SENT, "", T0) is False
    assert (
        await store.record_provider_status("SM-unknown", NotificationState.DELIVERED, "", T0)
        is False
    )
    view = await store.get_notification(claim.notification_id)
    assert view is not None and view.state is NotificationState.DELIVERED


async def test_undelivered_falls_back_to_the_next_channel(store: Store) -> None:
    claim = await claim_one(store)
    await store.finish([(claim, Decision(DecisionKind.SENT, provider_id="SM1"))], T0)
    assert await store.record_provider_status("SM1", NotificationState.UNDELIVERED, "30003", T0)
    [fallback] = await store.claim_due(T0, 10, "w1", LEASE)
    assert fallback.channel == "sms"


async def test_opting_out_cancels_pending_messages_on_that_channel(store: Store) -> None:
    await record(store, event())
    assert await store.set_opt_out("cust-1", "email", True, "unsubscribe link", T0) == 1
    assert await store.claim_due(T0, 10, "w1", LEASE) == []
    customer = await store.get_customer("cust-1")
    assert customer is not None and "email" in customer.opted_out
    await store.set_opt_out("cust-1", "email", False, "START", T0)
    customer = await store.get_customer("cust-1")
    assert customer is not None and customer.opted_out == frozenset()
    assert {"cancelled", "opted_out", "opted_in"} <= set(await kinds(store))


async def test_customers_are_found_by_phone(store: Store) -> None:
    await record(store, event())
    found = await store.find_customer_by_phone("+31612345678")
    assert [c.id for c in found] == ["cust-1"]


# --- follow-ups ---------------------------------------------------------------------------------


async def test_follow_ups_fire_repeat_and_stop_at_max(store: Store) -> None:
    await record(store, event())
    [first] = await store.claim_due(T0, 10, "w1", LEASE)
    await store.finish([(first, Decision(DecisionKind.SENT, provider_id="p"))], T0)
    assert await store.fire_due_follow_ups(T0 + timedelta(minutes=59), 10) == 0
    assert await store.fire_due_follow_ups(T0 + timedelta(hours=1), 10) == 1
    [follow] = await store.claim_due(T0 + timedelta(hours=1), 10, "w1", LEASE)
    assert (follow.kind.value, follow.template) == ("follow_up", "still_working")
    assert await store.fire_due_follow_ups(T0 + timedelta(hours=2), 10) == 0
    assert await store.fire_due_follow_ups(T0 + timedelta(hours=3), 10) == 1
    assert await store.fire_due_follow_ups(T0 + timedelta(days=30), 10) == 0


async def test_next_due_at_covers_messages_and_follow_ups(store: Store) -> None:
    assert await store.next_due_at() is None
    await record(store, event())
    assert await store.next_due_at() == T0
    [claim] = await store.claim_due(T0, 10, "w1", LEASE)
    await store.finish([(claim, Decision(DecisionKind.SENT, provider_id="p"))], T0)
    assert await store.next_due_at() == T0 + timedelta(hours=1)


async def test_state_counts(store: Store) -> None:
    await record(store, event(), event("evt-2", case_id="C-2"))
    assert await store.state_counts() == {"pending": 2}


async def test_a_raised_priority_raises_pending_messages(store: Store) -> None:
    [result] = await record(store, event())
    raised = replace(event("evt-2"), priority=Priority.URGENT)
    [again] = await record(store, raised, now=T0 + timedelta(seconds=1))
    assert again.outcome == "unchanged"
    view = await store.get_notification(result.notification_ids[0])
    assert view is not None and view.priority is Priority.URGENT


@pytest.mark.parametrize("count", [1, 50])
async def test_a_batch_of_events_commits_together(store: Store, count: int) -> None:
    events = [event(f"evt-{i}", case_id=f"C-{i}") for i in range(count)]
    results = await record(store, *events)
    assert all(r.status is IngestStatus.ACCEPTED for r in results)
    assert (await store.state_counts())["pending"] == count
