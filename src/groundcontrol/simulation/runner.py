"""The replay: events through the service's own store, planner and dispatcher, on a
virtual clock that jumps from each event to the next moment anything is due.

Nothing here decides what to send: the service's `Ingestor` records and plans each
event, the real `Dispatcher` in drain mode sends what is due (quiet hours, caps,
coalescing, retries, follow-ups and fallback are its own), and provider reports go
through `record_provider_status` as the callback handler sends them.

Customers never share a message, a cap or a case with another customer, so the
history is cut into shards of whole customers, each replayed on its own store and
clock: what a store scans stays small and the run stays linear in the history. Only
the per-process outage breaker sees one shard's traffic instead of everyone's.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from groundcontrol.channels.base import Channel
from groundcontrol.delivery.decisions import DeliveryPolicies
from groundcontrol.delivery.dispatcher import DispatchConfig, Dispatcher
from groundcontrol.delivery.frequency import FrequencyCap
from groundcontrol.delivery.ingestor import Ingestor
from groundcontrol.delivery.quiet_hours import QuietHours
from groundcontrol.delivery.retry import RetryPolicy
from groundcontrol.domain import (
    CHANNELS,
    ChannelName,
    Event,
    IngestResult,
    IngestStatus,
    NotificationState,
)
from groundcontrol.metrics import Metrics
from groundcontrol.planning.journeys import Journeys
from groundcontrol.security import UnsubscribeTokens, derive_key
from groundcontrol.settings import Settings, TemplateSettings
from groundcontrol.simulation.channels import (
    ChannelModel,
    Report,
    SimulatedChannel,
    next_report_at,
    pop_due_reports,
)
from groundcontrol.simulation.measures import CaseFigures, measure
from groundcontrol.simulation.stores import memory_store
from groundcontrol.simulation.virtual_clock import VirtualClock
from groundcontrol.store.contract import Store, TimelineEntry
from groundcontrol.templates.renderer import Renderer

StoreFactory = Callable[[], Awaitable[Store]]


@dataclass(frozen=True)
class Scenario:
    """Everything a replay depends on besides the events."""

    journeys: Journeys
    settings: Settings
    channels: ChannelModel = field(default_factory=ChannelModel)
    seed: int = 0
    # The end of the simulated window; by default `settle` after the last event, so its
    # messages, retries and quiet-hour waits play out before the figures are read.
    until: datetime | None = None
    settle: timedelta = timedelta(hours=24)
    shard_size: int = 50  # customers per shard


@dataclass
class Replay:
    """What the replay left behind: every case's figures, how each event was taken, and
    (when asked for) every case's timeline."""

    start: datetime
    end: datetime
    cases: list[CaseFigures] = field(default_factory=list)
    ingest: dict[str, int] = field(default_factory=dict)  # outcome or refusal -> events
    timelines: dict[str, list[TimelineEntry]] | None = None

    def count(self, result: IngestResult) -> None:
        key = result.outcome if result.status is IngestStatus.ACCEPTED else result.status.value
        self.ingest[key] = self.ingest.get(key, 0) + 1

    def merge(self, part: Replay) -> None:
        self.cases += part.cases
        for key, count in part.ingest.items():
            self.ingest[key] = self.ingest.get(key, 0) + count
        if self.timelines is not None and part.timelines is not None:
            self.timelines |= part.timelines


def quiet_service_logs() -> None:
    """The service's activity lines (a send, a dead letter) would be thousands of lines
    of noise in a replay, whose report is the output: in the command and in each worker
    process (a spawned worker would otherwise print warnings through logging's default)."""
    logging.getLogger("groundcontrol").addHandler(logging.NullHandler())


def window(events: Sequence[Event], scenario: Scenario) -> tuple[datetime, datetime]:
    """The simulated window: from the first event to `until`, or `settle` after the last."""
    if not events:
        raise ValueError("nothing to replay: no events")
    return events[0].occurred_at, scenario.until or events[-1].occurred_at + scenario.settle


async def replay(
    events: Sequence[Event],
    scenario: Scenario,
    *,
    store_factory: StoreFactory = memory_store,
    renderer: Renderer | None = None,
    keep_timelines: bool = False,
) -> Replay:
    """Replay `events` (in `occurred_at` order) and measure the cases they produced."""
    start, end = window(events, scenario)
    result = Replay(start, end, timelines={} if keep_timelines else None)
    for number, shard in enumerate(shards(events, scenario.shard_size)):
        part = Replay(start, end, timelines={} if keep_timelines else None)
        await replay_shard(number, shard, scenario, part, store_factory, renderer)
        result.merge(part)
    return result


async def replay_shard(
    number: int,
    events: list[Event],
    scenario: Scenario,
    into: Replay,
    store_factory: StoreFactory = memory_store,
    renderer: Renderer | None = None,
) -> Replay:
    """Replay one shard on a store of its own; its randomness depends only on the seed
    and the shard's number, so the result does not depend on which process runs it."""
    rng = random.Random(f"{scenario.seed}/{number}")
    store = await store_factory()
    try:
        renderer = renderer or _renderer(scenario.settings.templates)
        await ShardReplay(events, scenario, store, renderer, rng).run(into.end, into)
    finally:
        await store.close()
    return into


def shards(events: Sequence[Event], size: int) -> Iterator[list[Event]]:
    """The events cut into groups of `size` customers; a case goes with the customer
    of its first event, and each group keeps `occurred_at` order."""
    owner: dict[str, str] = {}  # case id -> customer id
    by_customer: dict[str, list[Event]] = {}
    for event in events:
        customer = owner.setdefault(event.case_id, event.customer.id)
        by_customer.setdefault(customer, []).append(event)
    customers = list(by_customer)
    for first in range(0, len(customers), size):
        group = [e for c in customers[first : first + size] for e in by_customer[c]]
        yield sorted(group, key=lambda e: e.occurred_at)


class ShardReplay:
    """One shard: its own store, simulated channels, dispatcher and virtual clock."""

    def __init__(
        self,
        events: list[Event],
        scenario: Scenario,
        store: Store,
        renderer: Renderer,
        rng: random.Random,
    ) -> None:
        self.events = events
        self.scenario = scenario
        self.store = store
        self.clock = VirtualClock(events[0].occurred_at)
        self.reports: list[Report] = []
        self.rng = rng
        self.dispatcher = _dispatcher(scenario, store, renderer, self._channels(), self.clock)
        self.ingestor = Ingestor(store, scenario.journeys, self.clock, self.dispatcher.wake)
        self._next = 0  # index of the first event not yet ingested
        self._drained = False

    def _channels(self) -> dict[ChannelName, Channel]:
        model = self.scenario.channels
        return {
            name: SimulatedChannel(name, model.of(name), self.rng, self.clock, self.reports)
            for name in CHANNELS
        }

    async def run(self, end: datetime, into: Replay) -> None:
        # The dispatcher's retry jitter draws from the module-level generator.
        random.seed(self.rng.random())
        while (at := await self._next_moment()) is not None and at <= end:
            now = self.clock.move_to(at)
            await self._ingest(now, into)
            await self._report(now)
            await self.dispatcher.drain()
            self._drained = True
        await self.ingestor.stop()
        await self.dispatcher.stop(timedelta(0))
        await self._measure(end, into)

    async def _measure(self, end: datetime, into: Replay) -> None:
        journeys = self.scenario.journeys
        for case_id in dict.fromkeys(e.case_id for e in self.events):
            timeline = await self.store.timeline(case_id)
            if timeline is None:  # every event of the case was refused
                continue
            into.cases.append(measure(case_id, timeline, journeys, end))
            if into.timelines is not None:
                into.timelines[case_id] = timeline

    async def _next_moment(self) -> datetime | None:
        due = await self.store.next_due_at()
        if due is not None and due <= self.clock.now and self._drained:
            # Due, yet the last drain left it (it waits on a free slot): look again a
            # second later instead of holding the clock still.
            due = self.clock.now + _STEP
        candidates = [due, next_report_at(self.reports)]
        if self._next < len(self.events):
            candidates.append(self.events[self._next].occurred_at)
        return min((at for at in candidates if at is not None), default=None)

    async def _ingest(self, now: datetime, into: Replay) -> None:
        batch = []
        while self._next < len(self.events) and self.events[self._next].occurred_at <= now:
            batch.append(self.events[self._next])
            self._next += 1
        if batch:
            for result in await self.ingestor.ingest(batch):
                into.count(result)

    async def _report(self, now: datetime) -> None:
        for report in pop_due_reports(self.reports, now):
            await self.store.record_provider_status(
                report.provider_id, NotificationState.UNDELIVERED, "simulated: undelivered", now
            )


_STEP = timedelta(seconds=1)


@functools.cache  # one per process: its compiled templates serve every shard
def _renderer(templates: TemplateSettings) -> Renderer:
    return Renderer.from_directory(
        templates.dir,
        max_output_chars=templates.max_output_chars,
        default_locale=templates.default_locale,
    )


def _dispatcher(
    scenario: Scenario,
    store: Store,
    renderer: Renderer,
    channels: Mapping[ChannelName, Channel],
    clock: VirtualClock,
) -> Dispatcher:
    settings = scenario.settings
    delivery = settings.delivery
    return Dispatcher(
        store=store,
        channels=channels,
        renderer=renderer,
        policies=DeliveryPolicies(
            retry=RetryPolicy.from_settings(delivery),
            quiet_hours=QuietHours.from_settings(settings.quiet_hours),
            cap=FrequencyCap.from_settings(settings.limits),
        ),
        tokens=UnsubscribeTokens(derive_key("simulation", "unsubscribe")),
        metrics=Metrics(),
        clock=clock,
        config=DispatchConfig(
            concurrency=delivery.concurrency,
            lease=delivery.duration("lease"),
            send_timeout=delivery.duration("send_timeout"),
            default_locale=settings.templates.default_locale,
        ),
    )
