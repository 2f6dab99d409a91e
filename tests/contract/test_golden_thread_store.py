"""Every engine keeps the golden thread the same way: dark_since moves with contacts, a
breach is recorded once per dark stretch from its indexed due time, and the reads
(one case, a filtered keyset page, the summary) mean the same on each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest

from groundcontrol.domain import CustomerPatch, Event, NotificationState
from groundcontrol.planning.callbacks import CallbackRoutes
from groundcontrol.planning.golden_thread import Contact, ContactKind
from groundcontrol.planning.journeys import parse_journeys
from groundcontrol.planning.plan import planner_for
from groundcontrol.store import create_store
from groundcontrol.store.callback_views import CallbackOutcome
from groundcontrol.store.case_views import CaseCursor, CaseFilter, CaseOrder
from groundcontrol.store.contract import Decision, DecisionKind, Store

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
LEASE = timedelta(seconds=30)

JOURNEYS = parse_journeys(
    {
        "defaults": {"promise": "10h"},
        "rules": [
            {"status": "received", "template": "case_received"},
            {"status": "waiting", "template": "waiting_on_customer", "promise": "2h"},
            {"status": "resolved", "template": "case_resolved", "final": True},
        ],
    }
)
CUSTOMER = {"email": "ada@example.com", "channels": ["email"]}


def event(n: int, status: str, case_id: str = "C-1", source: str = "crm") -> Event:
    return Event(
        source=source,
        id=f"evt-{case_id}-{n}",
        case_id=case_id,
        status=status,
        occurred_at=T0 + n * timedelta(seconds=1),
        customer=CustomerPatch(f"cust-{case_id}", CUSTOMER),
        body_hash=f"hash-{case_id}-{n}",
    )


async def record(store: Store, *events: Event, now: datetime = T0) -> None:
    await store.record_events(list(events), planner_for(JOURNEYS, now), now)


async def send_all(store: Store, now: datetime) -> None:
    claims = await store.claim_due(now, 100, "worker", LEASE)
    decisions = [
        (c, Decision(DecisionKind.SENT, provider_id=f"p-{i}")) for i, c in enumerate(claims)
    ]
    await store.finish(decisions, now)


async def kinds(store: Store, case_id: str = "C-1") -> list[str]:
    entries = await store.timeline(case_id)
    assert entries is not None
    return [e.kind for e in entries]


async def test_a_new_case_is_open_and_dark_since_it_was_received(store: Store) -> None:
    await record(store, event(1, "received"))
    view = await store.get_case("C-1")
    assert view is not None
    body = view.public_dict(T0 + H)
    assert body["open"] is True
    assert body["opened_at"] == body["dark_since"] == T0.isoformat()
    assert (body["dark_seconds"], body["promise_seconds"], body["breached"]) == (3600, 36000, False)
    assert (body["source"], body["last_contact"]) == ("crm", None)


async def test_a_sent_message_is_a_contact(store: Store) -> None:
    await record(store, event(1, "received"))
    await send_all(store, T0 + H)
    view = await store.get_case("C-1")
    assert view is not None and view.thread.last_contact is not None
    assert view.thread.dark_since == T0 + H
    contact = view.thread.last_contact
    assert (contact.kind, contact.channel) == (ContactKind.SENT, "email")
    assert contact.notification_id is not None and contact.notification_id.startswith("n_")
    assert await store.next_due_at() == T0 + 11 * H, "the breach is due a promise later"


async def test_a_failed_attempt_is_no_contact(store: Store) -> None:
    await record(store, event(1, "received"))
    [claim] = await store.claim_due(T0, 10, "w", LEASE)
    await store.finish([(claim, Decision(DecisionKind.FAIL, detail="bounced"))], T0 + H)
    view = await store.get_case("C-1")
    assert view is not None and view.thread.dark_since == T0
    assert view.thread.last_contact is None


async def test_a_viewed_case_page_is_a_contact(store: Store) -> None:
    await record(store, event(1, "received"))
    assert await store.record_contact("C-1", Contact(T0 + 2 * H, ContactKind.VIEWED))
    view = await store.get_case("C-1")
    assert view is not None and view.thread.dark_since == T0 + 2 * H
    assert "viewed" in await kinds(store)
    assert not await store.record_contact("C-1", Contact(T0 + H, ContactKind.VIEWED))
    assert not await store.record_contact("nope", Contact(T0 + H, ContactKind.VIEWED))


async def test_a_breach_is_recorded_once_per_dark_stretch(store: Store) -> None:
    await record(store, event(1, "received"))
    assert await store.fire_due_breaches(T0 + 10 * H - timedelta(seconds=1), 100) == []
    [breach] = await store.fire_due_breaches(T0 + 10 * H, 100)
    assert (breach.case_id, breach.status, breach.source) == ("C-1", "received", "crm")
    assert (breach.dark_since, breach.deadline) == (T0, T0 + 10 * H)
    assert await store.fire_due_breaches(T0 + 50 * H, 100) == [], "once per stretch"
    assert (await kinds(store)).count("promise_breached") == 1
    view = await store.get_case("C-1")
    assert view is not None and view.thread.breached(T0 + 50 * H)


async def test_the_next_contact_ends_the_breach_and_a_new_stretch_can_breach(store: Store) -> None:
    await record(store, event(1, "received"))
    await store.fire_due_breaches(T0 + 11 * H, 100)
    await store.record_contact("C-1", Contact(T0 + 12 * H, ContactKind.VIEWED))
    view = await store.get_case("C-1")
    assert view is not None and not view.thread.breached(T0 + 12 * H)
    [again] = await store.fire_due_breaches(T0 + 23 * H, 100)
    assert again.dark_since == T0 + 12 * H
    assert (await kinds(store)).count("promise_breached") == 2


async def test_a_status_takes_its_own_promise(store: Store) -> None:
    await record(store, event(1, "received"))
    await record(store, event(2, "waiting"), now=T0 + H)
    [breach] = await store.fire_due_breaches(T0 + 3 * H, 100)
    assert (breach.status, breach.deadline) == ("waiting", T0 + 2 * H)


async def test_a_final_status_closes_the_case_and_a_later_one_reopens_it(store: Store) -> None:
    await record(store, event(1, "received"))
    await record(store, event(2, "resolved"), now=T0 + H)
    view = await store.get_case("C-1")
    assert view is not None and not view.thread.open
    assert await store.fire_due_breaches(T0 + 100 * H, 100) == []
    await record(store, event(3, "waiting"), now=T0 + 200 * H)
    view = await store.get_case("C-1")
    assert view is not None
    assert (view.thread.open, view.thread.opened_at, view.thread.dark_since) == (
        True,
        T0 + 200 * H,
        T0 + 200 * H,
    )
    [breach] = await store.fire_due_breaches(T0 + 203 * H, 100)
    assert breach.deadline == T0 + 202 * H


async def test_a_batch_keeps_the_thread_as_row_by_row_does(store: Store) -> None:
    await record(store, event(1, "received"), event(2, "waiting"), event(1, "received", "C-2"))
    one, two = await store.get_case("C-1"), await store.get_case("C-2")
    assert one is not None and two is not None
    assert (one.thread.promise, one.thread.dark_since) == (2 * H, T0)
    assert (two.thread.promise, two.source) == (10 * H, "crm")


# --- reads --------------------------------------------------------------------------------


async def three_cases(store: Store) -> None:
    """C-1 dark since T0 (breached at T0+11h), C-2 since T0+5h (erp), C-3 closed."""
    await record(store, event(1, "received", "C-1"))
    await record(store, event(1, "received", "C-2", source="erp"), now=T0 + 5 * H)
    await record(store, event(1, "resolved", "C-3"), now=T0 + 6 * H)


async def test_cases_filter_by_open_breached_status_source_and_darkness(store: Store) -> None:
    await three_cases(store)
    now = T0 + 11 * H

    async def ids(**where: object) -> list[str]:
        page = await store.list_cases(CaseFilter(**where), now)  # type: ignore[arg-type]
        return [v.case_id for v in page.items]

    assert await ids() == ["C-1", "C-2", "C-3"]
    assert await ids(open=True) == ["C-1", "C-2"]
    assert await ids(open=False) == ["C-3"]
    assert await ids(breached=True) == ["C-1"]
    assert await ids(breached=False) == ["C-2", "C-3"]
    assert await ids(source="erp") == ["C-2"]
    assert await ids(status="resolved") == ["C-3"]
    assert await ids(dark_longer_than=8 * H) == ["C-1"]
    assert await ids(order=CaseOrder.LIGHTEST) == ["C-3", "C-2", "C-1"]


async def test_cases_page_through_a_keyset_cursor(store: Store) -> None:
    await three_cases(store)
    first = await store.list_cases(CaseFilter(limit=2), T0 + 11 * H)
    assert [v.case_id for v in first.items] == ["C-1", "C-2"]
    assert first.next == CaseCursor(T0 + 5 * H, "C-2")
    second = await store.list_cases(CaseFilter(limit=2, after=first.next), T0 + 11 * H)
    assert [v.case_id for v in second.items] == ["C-3"]
    assert second.next is None


async def test_the_summary_counts_open_breached_and_dark_percentiles(store: Store) -> None:
    await three_cases(store)
    now = T0 + 11 * H
    await store.fire_due_breaches(now, 100)
    summary = await store.golden_thread(now, timedelta(days=7))
    assert (summary.open_cases, summary.breached_now, summary.breaches_in_window) == (2, 1, 1)
    assert (summary.dark_seconds.p50, summary.dark_seconds.p95, summary.dark_seconds.max) == (
        6 * 3600,
        11 * 3600,
        11 * 3600,
    )
    assert summary.by_source["erp"].public_dict() == {
        "open": 1,
        "breached_now": 0,
        "p95_dark_seconds": 6 * 3600,
    }
    assert summary.by_status["received"].public_dict() == {
        "open": 2,  # from two sources: one status, counted across them
        "breached_now": 1,
        "p95_dark_seconds": 11 * 3600,
    }
    assert (summary.by_source["crm"].open, summary.by_source["crm"].breached_now) == (1, 1)
    assert "resolved" not in summary.by_status, "closed cases are not dark"
    later = await store.golden_thread(T0 + 30 * 24 * H, timedelta(days=7))
    assert later.breaches_in_window == 0


async def test_an_empty_store_summarises_to_nothing(store: Store) -> None:
    summary = await store.golden_thread(T0, timedelta(days=1))
    assert (summary.open_cases, summary.dark_seconds.p50, summary.by_status) == (0, None, {})


async def test_two_instances_record_each_breach_once(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL has two instances writing at once")
    first, second = create_store(store_url), create_store(store_url)
    await first.open()
    await second.open()
    try:
        await record(first, *(event(1, "received", f"C-{n}") for n in range(60)))
        due = T0 + 10 * H
        # Both instances' clocks wake at once, several times, in small batches.
        found = await asyncio.gather(
            *(store.fire_due_breaches(due, 7) for _ in range(12) for store in (first, second))
        )
        recorded = [breach.case_id for batch in found for breach in batch]
        assert sorted(recorded) == sorted(f"C-{n}" for n in range(60))
        for n in (0, 31, 59):
            assert (await kinds(first, f"C-{n}")).count("promise_breached") == 1
        summary = await second.golden_thread(due, timedelta(days=1))
        assert (summary.breached_now, summary.breaches_in_window) == (60, 60)
    finally:
        await first.close()
        await second.close()


# --- callbacks ------------------------------------------------------------------------------


async def test_a_breach_plans_a_callback_for_a_source_that_asked(store: Store) -> None:
    store.route_callbacks(CallbackRoutes({"crm": frozenset({"case.promise_breached"})}))
    await record(store, event(1, "received", "C-1"), event(1, "received", "C-2", source="erp"))
    await store.fire_due_breaches(T0 + 10 * H, 100)
    [claimed] = await store.claim_callbacks(T0 + 10 * H, 10, "w", LEASE)
    assert (claimed.source, claimed.type, claimed.case_id, claimed.attempt) == (
        "crm",
        "case.promise_breached",
        "C-1",
        1,
    )
    assert claimed.body["id"] == claimed.id
    assert await store.claim_callbacks(T0 + 10 * H, 10, "other", LEASE) == [], "leased"


async def test_undelivered_with_no_channel_left_plans_an_unreachable_callback(
    store: Store,
) -> None:
    store.route_callbacks(CallbackRoutes({"crm": frozenset({"customer.unreachable"})}))
    await record(store, event(1, "received"))  # email only: nothing to fall back to
    await send_all(store, T0)
    assert await store.claim_callbacks(T0, 10, "w", LEASE) == []
    assert await store.record_provider_status("p-0", NotificationState.UNDELIVERED, "550", T0)
    [claimed] = await store.claim_callbacks(T0, 10, "w", LEASE)
    assert (claimed.source, claimed.type, claimed.case_id) == ("crm", "customer.unreachable", "C-1")
    assert claimed.body["data"]["reason"] == "undelivered and no other channel left"
    assert claimed.body["customer_id"] == "cust-C-1"


async def test_a_callback_retries_then_dies_then_is_re_driven(store: Store) -> None:
    store.route_callbacks(CallbackRoutes({"crm": frozenset({"case.promise_breached"})}))
    await record(store, event(1, "received"))
    await store.fire_due_breaches(T0 + 10 * H, 100)
    [first] = await store.claim_callbacks(T0 + 10 * H, 10, "w", LEASE)
    retry = CallbackOutcome(False, "HTTP 503", T0 + 11 * H)
    assert await store.finish_callback(first, retry, T0 + 10 * H)
    assert not await store.finish_callback(first, retry, T0 + 10 * H), "fenced: done once"
    assert await store.claim_callbacks(T0 + 10 * H + H / 2, 10, "w", LEASE) == []
    [second] = await store.claim_callbacks(T0 + 11 * H, 10, "w", LEASE)
    assert (second.id, second.attempt) == (first.id, 2)
    await store.finish_callback(second, CallbackOutcome(False, "HTTP 400"), T0 + 11 * H)
    [dead] = await store.list_callbacks("dead", 10)
    assert (dead.id, dead.last_error, dead.attempts) == (first.id, "HTTP 400", 2)
    assert await store.redrive_callback(first.id, T0 + 12 * H)
    [third] = await store.claim_callbacks(T0 + 12 * H, 10, "w", LEASE)
    assert await store.finish_callback(third, CallbackOutcome(True), T0 + 12 * H)
    assert [c.state for c in await store.list_callbacks(None, 10)] == ["sent"]
    kinds_now = await kinds(store)
    assert [k for k in kinds_now if k.startswith("callback")] == [
        "callback_retry",
        "callback_dead",
        "callback_redriven",
        "callback_sent",
    ]


async def test_no_route_plans_no_callback(store: Store) -> None:
    await record(store, event(1, "received"))
    await store.fire_due_breaches(T0 + 10 * H, 100)
    assert await store.list_callbacks(None, 10) == []


REPEATING = parse_journeys(
    {
        "rules": [
            {
                "status": "received",
                "template": "case_received",
                "promise": "12h",
                "follow_up": {"after": "1h", "every": "11h", "max": 3, "template": "still_working"},
            }
        ]
    }
)


def quiet_nights(at: datetime, timezone: str | None) -> tuple[datetime, datetime] | None:
    """Quiet hours 22:00-07:00 UTC, as `QuietHours.window_around` answers."""
    day = at.date() if at.hour >= 22 else at.date() - timedelta(days=1)
    opens = datetime.combine(day, time(22), UTC)
    return (opens, opens + 9 * H) if opens <= at < opens + 9 * H else None


async def test_a_repetition_moves_before_quiet_hours_that_would_break_the_promise(
    store: Store,
) -> None:
    await store.record_events([event(1, "received")], planner_for(REPEATING, T0), T0)
    await send_all(store, T0)
    # Fired and sent at 11:00, so the promise breaks at 23:00; 11 h on is 22:00, which
    # the quiet hours would hold until 07:00.
    assert await store.fire_due_follow_ups(T0 + H, 10, quiet_nights) == 1
    await send_all(store, T0 + H)

    before = datetime(2026, 11, 22, 21, 59, tzinfo=UTC)
    assert await store.next_due_at() == before
    entries = await store.timeline("C-1")
    assert entries is not None
    [fired] = [e for e in entries if e.kind == "follow_up_fired"]
    assert fired.detail["next_due_at"] == before.isoformat()
    assert await store.fire_due_follow_ups(before, 10, quiet_nights) == 1


async def test_a_contact_at_the_instant_the_stretch_began_leaves_its_breach_recorded_once(
    store: Store,
) -> None:
    await record(store, event(1, "received"))
    assert len(await store.fire_due_breaches(T0 + 10 * H, 100)) == 1
    # Reported now, but made at the instant the case went dark: the stretch goes on.
    await store.record_contact("C-1", Contact(T0, ContactKind.VIEWED))

    assert await store.fire_due_breaches(T0 + 11 * H, 100) == []
    view = await store.get_case("C-1")
    assert view is not None
    assert view.public_dict(T0 + 11 * H)["breached"] is True
