"""The dispatcher over the memory store and memory channels, with the bundled templates
and an injected clock, driven with drain(): every outcome a claimed notification can have."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from groundcontrol.channels.memory import MemoryChannel
from groundcontrol.delivery.decisions import DeliveryPolicies
from groundcontrol.delivery.dispatcher import DispatchConfig, Dispatcher
from groundcontrol.delivery.frequency import FrequencyCap
from groundcontrol.delivery.quiet_hours import QuietHours
from groundcontrol.delivery.retry import RetryPolicy
from groundcontrol.domain import (
    ChannelName,
    CustomerPatch,
    Event,
    NotificationState,
    Priority,
)
from groundcontrol.errors import PermanentDeliveryError, TransientDeliveryError
from groundcontrol.metrics import Metrics
from groundcontrol.planning.journeys import parse_journeys
from groundcontrol.planning.plan import planner_for
from groundcontrol.security import UnsubscribeTokens
from groundcontrol.store.contract import NotificationFilter, NotificationView
from groundcontrol.store.memory import MemoryStore
from groundcontrol.templates.renderer import Renderer

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 11:00 in Amsterdam: not quiet
LEASE = timedelta(seconds=60)
# initial == maximum == floor: the jittered delay is exactly 10 s, so tests can name it.
RETRY = RetryPolicy(
    initial=timedelta(seconds=10),
    maximum=timedelta(seconds=10),
    max_attempts=3,
    floor=timedelta(seconds=10),
)
JOURNEYS = parse_journeys(
    {
        "rules": [
            {"status": "received", "template": "case_received"},
            {"status": "resolved", "template": "case_resolved"},
            {"status": "broken", "template": "no_such_template"},
        ]
    }
)
ADA = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+31612345678",
    "timezone": "Europe/Amsterdam",
    "channels": ["email", "sms"],
}


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class World:
    store: MemoryStore = field(default_factory=MemoryStore)
    clock: Clock = field(default_factory=Clock)
    email: MemoryChannel = field(default_factory=lambda: MemoryChannel("email"))
    sms: MemoryChannel = field(default_factory=lambda: MemoryChannel("sms"))
    cap: FrequencyCap = field(default_factory=FrequencyCap)

    def dispatcher(self, owner: str = "d1") -> Dispatcher:
        channels: dict[ChannelName, MemoryChannel] = {"email": self.email, "sms": self.sms}
        return Dispatcher(
            store=self.store,
            channels=channels,
            renderer=Renderer.from_directory(TEMPLATES),
            policies=DeliveryPolicies(
                retry=RETRY, quiet_hours=QuietHours(start=time(21), end=time(8)), cap=self.cap
            ),
            tokens=UnsubscribeTokens(b"unsubscribe-key"),
            metrics=Metrics(),
            clock=self.clock,
            config=DispatchConfig(concurrency=10, lease=LEASE, owner=owner),
        )

    async def post(
        self,
        event_id: str = "evt-1",
        status: str = "received",
        *,
        case_id: str = "C-1",
        customer: dict[str, object] | None = None,
        priority: Priority | None = None,
    ) -> str | None:
        """Record an event now; the id of the notification it planned, if any."""
        event = Event(
            source="demo",
            id=event_id,
            case_id=case_id,
            status=status,
            occurred_at=self.clock.now,
            customer=CustomerPatch("cust-1", ADA if customer is None else customer),
            priority=priority,
            data={"case_title": "Address change"},
            body_hash=event_id,
        )
        planner = planner_for(JOURNEYS, self.clock.now)
        [result] = await self.store.record_events([event], planner, self.clock.now)
        return result.notification_ids[0] if result.notification_ids else None

    async def view(self, notification_id: str | None) -> NotificationView:
        assert notification_id is not None
        view = await self.store.get_notification(notification_id)
        assert view is not None
        return view

    async def timeline_kinds(self, case_id: str = "C-1") -> list[str]:
        entries = await self.store.timeline(case_id)
        assert entries is not None
        return [entry.kind for entry in entries]


@pytest.fixture
def world() -> World:
    return World()


async def test_a_due_notification_is_sent_once_and_recorded(world: World) -> None:
    nid = await world.post()
    dispatcher = world.dispatcher()
    await dispatcher.drain()
    await dispatcher.drain()
    [message] = world.email.sent
    assert (message.notification_id, message.address) == (nid, "ada@example.com")
    assert message.rendered.subject is not None and "Address change" in message.rendered.subject
    assert message.unsubscribe_url is not None
    view = await world.view(nid)
    assert (view.state, view.provider_id, view.attempts) == (NotificationState.SENT, "email-1", 1)
    assert world.sms.calls == []


async def test_a_transient_error_retries_at_the_policy_time(world: World) -> None:
    nid = await world.post()
    world.email.fail_next(TransientDeliveryError("451 try later"))
    dispatcher = world.dispatcher()
    await dispatcher.drain()
    view = await world.view(nid)
    assert (view.state, view.due_at, view.last_error) == (
        NotificationState.PENDING,
        T0 + timedelta(seconds=10),
        "451 try later",
    )
    world.clock.advance(timedelta(seconds=9))
    await dispatcher.drain()
    assert world.email.sent == []
    world.clock.advance(timedelta(seconds=1))
    await dispatcher.drain()
    assert len(world.email.sent) == 1
    view = await world.view(nid)
    assert (view.state, view.attempts) == (NotificationState.SENT, 2)
    assert [a.outcome for a in view.attempt_log] == ["transient", "sent"]


async def test_a_permanent_error_falls_back_to_the_next_channel(world: World) -> None:
    nid = await world.post()
    world.email.fail_next(PermanentDeliveryError("550 no such user"))
    await world.dispatcher().drain()
    assert world.email.sent == []
    [message] = world.sms.sent
    assert message.address == "+31612345678"
    failed = await world.view(nid)
    assert (failed.state, failed.last_error) == (NotificationState.FAILED, "550 no such user")
    fallback = await world.view(message.notification_id)
    assert (fallback.previous_id, fallback.state) == (nid, NotificationState.SENT)


async def test_exhausted_retries_fall_back_then_die_when_no_channel_is_left(world: World) -> None:
    nid = await world.post(customer={**ADA, "channels": ["email"]})
    world.email.fail_next(TransientDeliveryError("503"), times=RETRY.max_attempts)
    dispatcher = world.dispatcher()
    for _ in range(RETRY.max_attempts):
        await dispatcher.drain()
        world.clock.advance(timedelta(seconds=10))
    view = await world.view(nid)
    assert view.state is NotificationState.DEAD
    assert view.last_error == "gave up after 3 attempts: 503"
    assert len(world.email.calls) == 3
    assert world.email.sent == []


async def test_exhausted_retries_fall_back_to_the_next_channel(world: World) -> None:
    nid = await world.post()
    world.email.fail_next(TransientDeliveryError("503"), times=RETRY.max_attempts)
    dispatcher = world.dispatcher()
    for _ in range(RETRY.max_attempts):
        await dispatcher.drain()
        world.clock.advance(timedelta(seconds=10))
    assert (await world.view(nid)).state is NotificationState.FAILED
    assert len(world.sms.sent) == 1


async def test_a_template_error_falls_back_with_the_reason(world: World) -> None:
    nid = await world.post(status="broken")
    await world.dispatcher().drain()
    first = await world.view(nid)
    assert first.state is NotificationState.FAILED
    assert first.last_error is not None and "template 'no_such_template' failed" in first.last_error
    [fallback] = await world.store.list_notifications(
        NotificationFilter(state=NotificationState.DEAD)
    )
    assert (fallback.channel, fallback.previous_id) == ("sms", nid)
    assert world.email.calls == world.sms.calls == []


async def test_a_claim_the_case_has_moved_past_is_superseded(world: World) -> None:
    nid = await world.post()
    # A worker claims it and is lost; meanwhile the case moves on.
    [lost] = await world.store.claim_due(T0, 10, "lost-worker", LEASE)
    assert lost.notification_id == nid
    resolved = await world.post("evt-2", "resolved")
    world.clock.advance(LEASE + timedelta(seconds=1))
    await world.dispatcher().drain()
    assert (await world.view(nid)).state is NotificationState.SUPERSEDED
    assert [m.notification_id for m in world.email.sent] == [resolved]
    assert "superseded" in await world.timeline_kinds()


async def test_quiet_hours_defer_until_the_window_ends(world: World) -> None:
    world.clock.now = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 22:30 in Amsterdam
    nid = await world.post()
    dispatcher = world.dispatcher()
    await dispatcher.drain()
    view = await world.view(nid)
    morning = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam
    assert (view.state, view.due_at, view.attempts) == (NotificationState.PENDING, morning, 0)
    assert world.email.calls == []
    world.clock.now = morning
    await dispatcher.drain()
    assert len(world.email.sent) == 1


async def test_urgent_messages_ignore_quiet_hours(world: World) -> None:
    world.clock.now = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)
    await world.post(priority=Priority.URGENT)
    await world.dispatcher().drain()
    assert len(world.email.sent) == 1


async def test_the_frequency_cap_defers_until_a_slot_frees(world: World) -> None:
    world.cap = FrequencyCap(per_hour=1)
    await world.post()
    dispatcher = world.dispatcher()
    await dispatcher.drain()
    world.clock.advance(timedelta(minutes=10))
    second = await world.post("evt-2", case_id="C-2")
    await dispatcher.drain()
    view = await world.view(second)
    assert (view.state, view.due_at) == (NotificationState.PENDING, T0 + timedelta(hours=1))
    assert "deferred" in await world.timeline_kinds("C-2")
    world.clock.now = T0 + timedelta(hours=1)
    await dispatcher.drain()
    assert len(world.email.sent) == 2


async def test_repeated_failures_open_the_outage_guard(world: World) -> None:
    ids = [await world.post(f"evt-{i}", case_id=f"C-{i}") for i in range(6)]
    world.email.fail_next(TransientDeliveryError("503"), times=5)
    dispatcher = world.dispatcher()
    await dispatcher.drain()
    last = await world.view(ids[-1])
    # Five failures open the guard for 30 s: the sixth is not even tried.
    assert (last.state, last.due_at, last.attempts) == (
        NotificationState.PENDING,
        T0 + timedelta(seconds=30),
        0,
    )
    assert len(world.email.calls) == 5
    world.clock.advance(timedelta(seconds=30))
    await dispatcher.drain()
    assert len(world.email.sent) == 6


async def test_stop_lets_in_flight_sends_finish_and_releases_the_rest(world: World) -> None:
    sending = await world.post()
    world.email.hang_next()
    dispatcher = world.dispatcher()
    await dispatcher.tick()
    await world.email.wait_hanging(1)
    waiting = await world.post("evt-2", case_id="C-2")
    await dispatcher.tick()  # claimed; its task has not run yet
    world.email.resume()
    await dispatcher.stop(timedelta(seconds=30))
    assert [m.notification_id for m in world.email.sent] == [sending]
    assert (await world.view(sending)).state is NotificationState.SENT
    released = await world.view(waiting)
    assert (released.state, released.attempts) == (NotificationState.PENDING, 0)
    # Released before any provider call: no attempt, so nothing in the attempt log.
    assert released.attempt_log == ()


async def test_stop_waits_for_a_claim_under_way_and_releases_what_it_took(world: World) -> None:
    # A SIGTERM while a tick was claiming left that claim leased (state sending) after
    # the process had gone: its messages waited for the lease to run out.
    nid = await world.post()
    claiming, answer = asyncio.Event(), asyncio.Event()
    claim_due = world.store.claim_due

    async def slow_claim(*args: Any, **kwargs: Any) -> Any:
        claiming.set()
        await answer.wait()
        return await claim_due(*args, **kwargs)

    world.store.claim_due = slow_claim  # type: ignore[method-assign]
    dispatcher = world.dispatcher()
    ticking = asyncio.create_task(dispatcher.tick())
    await claiming.wait()
    stopping = asyncio.create_task(dispatcher.stop(timedelta(seconds=30)))
    await asyncio.sleep(0.01)
    answer.set()
    await stopping

    assert ticking.done(), "stop() returned while a tick was still claiming"
    released = await world.view(nid)
    assert (released.state, released.attempts) == (NotificationState.PENDING, 0)
    assert world.email.sent == []


async def test_a_send_cut_off_by_the_grace_retries_as_a_possible_duplicate(world: World) -> None:
    nid = await world.post()
    world.email.hang_next()
    dispatcher = world.dispatcher()
    await dispatcher.tick()
    await world.email.wait_hanging(1)
    await dispatcher.stop(timedelta(milliseconds=10))
    view = await world.view(nid)
    assert (view.state, view.due_at, view.last_error) == (
        NotificationState.PENDING,
        T0,
        "shut down mid-send",
    )
    entries = await world.store.timeline("C-1")
    assert entries is not None
    assert entries[-1].detail["possible_duplicate"] is True


async def test_a_late_result_after_the_lease_expired_is_refused(world: World) -> None:
    nid = await world.post()
    world.email.hang_next()
    slow, fast = world.dispatcher("slow"), world.dispatcher("fast")
    await slow.tick()
    await world.email.wait_hanging(1)
    world.clock.advance(LEASE + timedelta(seconds=1))
    await fast.drain()  # reclaims the expired lease and sends
    world.email.resume()
    await slow.drain()  # the slow send finishes; its result is refused
    view = await world.view(nid)
    assert (view.state, view.provider_id) == (NotificationState.SENT, "email-1"), (
        view.last_error,
        view.attempt_log,
    )
    assert [a.outcome for a in view.attempt_log] == ["fenced", "sent"]
    # At least once: the provider got it twice, under one stable message key.
    assert [m.message_key for m in world.email.sent] == [view.message_key] * 2


async def test_drain_returns_when_nothing_is_due(world: World) -> None:
    dispatcher = world.dispatcher()
    await asyncio.wait_for(dispatcher.drain(), timeout=5)
    assert world.email.calls == []


# --- when a tick fires the timers ---------------------------------------------------------

FOLLOWING = parse_journeys(
    {
        "rules": [
            {
                "status": "received",
                "template": "case_received",
                "follow_up": {"after": "1m", "template": "still_working"},
            }
        ]
    }
)


class CountingStore(MemoryStore):
    """The memory store, counting how often a tick asks it to fire due follow-ups."""

    def __init__(self) -> None:
        super().__init__()
        self.firings = 0

    async def fire_due_follow_ups(self, *args: Any, **kwargs: Any) -> int:
        self.firings += 1
        return await super().fire_due_follow_ups(*args, **kwargs)


def _counting_world(spacing: timedelta) -> tuple[World, Dispatcher, CountingStore]:
    store = CountingStore()
    world = World(store=store)
    dispatcher = world.dispatcher()
    dispatcher.config = replace(dispatcher.config, timer_spacing=spacing)
    return world, dispatcher, store


async def _nap(dispatcher: Dispatcher, longest: float = 1.0) -> float:
    """What `run()` does after a tick: forget the wake-ups the tick's sends made, then
    read the next due time."""
    dispatcher._wake.clear()
    return await dispatcher._nap(longest)


async def _post_following(world: World) -> None:
    event = Event(
        source="demo",
        id="evt-f",
        case_id="C-f",
        status="received",
        occurred_at=world.clock.now,
        customer=CustomerPatch("cust-1", ADA),
        data={"case_title": "Address change"},
        body_hash="evt-f",
    )
    await world.store.record_events(
        [event], planner_for(FOLLOWING, world.clock.now), world.clock.now
    )


async def test_without_a_nap_every_tick_fires_the_timers() -> None:
    _, dispatcher, store = _counting_world(timedelta(hours=1))
    for _ in range(3):
        await dispatcher.tick()
    assert store.firings == 3


async def test_after_a_nap_a_tick_skips_timers_that_are_not_due_until_the_spacing_passes() -> None:
    world, dispatcher, store = _counting_world(timedelta(seconds=10))
    await _post_following(world)  # its follow-up is due in a minute
    await dispatcher.drain()
    await _nap(dispatcher)
    fired = store.firings
    world.clock.advance(timedelta(seconds=5))
    await dispatcher.tick()
    assert store.firings == fired, "nothing due and fired 5 s ago: skipped"
    world.clock.advance(timedelta(seconds=5))
    await dispatcher.tick()
    assert store.firings == fired + 1, "the spacing has passed: fired"


async def test_a_timer_the_nap_read_fires_when_it_is_due_despite_the_spacing() -> None:
    world, dispatcher, store = _counting_world(timedelta(hours=1))
    await _post_following(world)
    await dispatcher.drain()
    assert await _nap(dispatcher, 3600.0) == pytest.approx(60.0)
    world.clock.advance(timedelta(minutes=1))
    await dispatcher.drain()
    assert len(world.email.sent) == 2, "the message, then its follow-up"
    assert store.firings >= 1


async def test_a_nap_after_a_skipped_tick_wakes_at_once_for_what_is_already_due() -> None:
    world, dispatcher, _ = _counting_world(timedelta(hours=1))
    await dispatcher.tick()
    await _nap(dispatcher)  # reads that nothing is due
    world.clock.advance(timedelta(minutes=2))
    await _post_following(world)
    await dispatcher.drain()  # sends the message; the follow-up is not due yet
    world.clock.advance(timedelta(minutes=2))  # now it is: a timer the last read missed
    await dispatcher.tick()
    assert dispatcher._timers_skipped
    assert await _nap(dispatcher) == 0.0
    await dispatcher.tick()
    assert not dispatcher._timers_skipped
