"""The dispatcher: claims due notifications, renders them, sends them, records the outcome.

It holds only in-flight work; what is due is always a query on the store, so several
instances can share one PostgreSQL store. `run()` serves until `stop()`; `drain()`
dispatches until nothing is due (tests and the benchmarks use it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from groundcontrol.channels.base import Channel, OutgoingMessage
from groundcontrol.delivery import activity
from groundcontrol.delivery import decisions as delivery
from groundcontrol.delivery.batching import GroupCommitter
from groundcontrol.delivery.callbacks import CallbackPoster
from groundcontrol.delivery.cap_slots import CapSlots
from groundcontrol.delivery.decisions import DeliveryPolicies
from groundcontrol.delivery.throttle import ChannelGuards, OutageGuard, RateLimiter
from groundcontrol.domain import ChannelName, NotificationState, RenderedMessage
from groundcontrol.errors import DeliveryError, TemplateError, TransientDeliveryError
from groundcontrol.links import case_url, unsubscribe_url
from groundcontrol.metrics import Metrics
from groundcontrol.planning.golden_thread import Contact, ContactKind, closed_stretch, is_contact
from groundcontrol.security import CaseTokens, UnsubscribeTokens
from groundcontrol.store.callback_views import CallbackClaim
from groundcontrol.store.contract import Claim, Decision, DecisionKind, Store
from groundcontrol.templates.context import build_context
from groundcontrol.templates.renderer import Renderer

log = logging.getLogger(__name__)

FOLLOW_UP_BATCH = 500
BREACH_BATCH = 500


@dataclass(frozen=True)
class DispatchConfig:
    concurrency: int = 100
    lease: timedelta = timedelta(seconds=60)
    send_timeout: timedelta = timedelta(seconds=30)
    public_url: str = "http://127.0.0.1:8080"
    default_locale: str = "en"
    owner: str = ""
    breaker: OutageGuard = field(default_factory=OutageGuard)
    # Ticks come with every ingested event and every finished send; firing timers on
    # each was a third of the store work per event at low rates. A tick skips them
    # while the last next-due read put nothing at or before now and they fired this
    # recently: what that read did not see (another instance's) fires at most this
    # much later.
    timer_spacing: timedelta = timedelta(milliseconds=100)


class Dispatcher:
    def __init__(
        self,
        *,
        store: Store,
        channels: Mapping[ChannelName, Channel],
        renderer: Renderer,
        policies: DeliveryPolicies,
        tokens: UnsubscribeTokens,
        metrics: Metrics,
        clock: Callable[[], datetime],
        config: DispatchConfig,
        limiter: RateLimiter | None = None,
        case_tokens: CaseTokens | None = None,
        callbacks: CallbackPoster | None = None,
    ) -> None:
        self.store = store
        self.channels = channels
        self.renderer = renderer
        self.policies = policies
        self.tokens = tokens
        self.case_tokens = case_tokens
        self.metrics = metrics
        self.clock = clock
        self.config = config
        self.owner = config.owner or f"gc-{uuid.uuid4().hex[:12]}"
        self.limiter = limiter
        self.callbacks = callbacks
        self._callback_posts: set[asyncio.Task[None]] = set()
        self.guards = ChannelGuards(config.breaker)
        self._finisher: GroupCommitter[tuple[Claim, Decision], bool] = GroupCommitter(
            lambda items: store.finish(items, clock())
        )
        self._wake = asyncio.Event()
        self._stopping = False
        # Held by the tick under way: stop() waits for it, so claims it is making start
        # (and are waited for or released) before stop() looks at what is in flight.
        self._ticking = asyncio.Lock()
        self._inflight: dict[asyncio.Task[None], Claim] = {}
        self._sending: set[str] = set()
        self._cap_slots = CapSlots()
        self._ticked_at = datetime.min.replace(tzinfo=UTC)
        self._timers_fired_at = datetime.min.replace(tzinfo=UTC)
        self._next_due: datetime | None = None  # as the last nap read it
        self._next_due_read = False  # tests and the simulation tick without napping
        self._timers_skipped = False

    # --- driving ---------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def run(self, idle_wait: float = 1.0) -> None:
        """Serve until stop(): tick on every wake-up, or at least every `idle_wait`."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                log.exception("dispatch tick failed; retrying on the next wake-up")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=await self._nap(idle_wait))

    async def _nap(self, longest: float) -> float:
        """Seconds until the next known due time (a follow-up, a retry), at most `longest`:
        timers fire on time instead of on the next periodic wake-up."""
        if self._wake.is_set():
            return 0.0
        try:
            due = await self.store.next_due_at()
        except Exception:
            log.exception("could not read the next due time; sleeping until a wake-up")
            self._next_due_read = False
            return longest
        self._next_due, self._next_due_read = due, True
        if due is None:
            return longest
        if due <= self._ticked_at:
            # Due when the tick looked, yet not taken (slots full, or another instance
            # holds it): a finished send or the periodic clock wakes us, not a spin.
            # Unless the tick skipped the timers: this may be one of theirs.
            return 0.0 if self._timers_skipped else longest
        return min(longest, max(0.0, (due - self.clock()).total_seconds()))

    async def tick(self) -> int:
        """Fire due follow-ups, then claim as much due work as there are free slots."""
        async with self._ticking:
            return await self._tick()

    async def _tick(self) -> int:
        now = self._ticked_at = self.clock()
        self._timers_skipped = not self._timers_may_be_due(now)
        if not self._timers_skipped:
            await self._fire_timers(now)
        posting = await self._post_callbacks(now)
        free = self.config.concurrency - len(self._inflight)
        if free <= 0 or self._stopping:
            return posting
        claims = await self.store.claim_due(now, free, self.owner, self.config.lease)
        self.metrics.claimed(len(claims))
        for claim in claims:
            task = asyncio.create_task(
                self._deliver(claim), name=f"deliver-{claim.notification_id}"
            )
            self._inflight[task] = claim
            task.add_done_callback(self._done)
        return len(claims) + posting

    def _timers_may_be_due(self, now: datetime) -> bool:
        if not self._next_due_read or now - self._timers_fired_at >= self.config.timer_spacing:
            return True
        return self._next_due is not None and self._next_due <= now

    async def _fire_timers(self, now: datetime) -> None:
        """Due follow-ups become messages; broken promises are recorded."""
        self._timers_fired_at = now
        quiet = self.policies.quiet_hours.window_around
        while await self.store.fire_due_follow_ups(now, FOLLOW_UP_BATCH, quiet) == FOLLOW_UP_BATCH:
            if self._stopping:  # the rest fire on the next start; stop() waits for this
                break
        await self._record_breaches(now)

    async def _post_callbacks(self, now: datetime) -> int:
        """Claim due callbacks to the source systems and post them in the background."""
        if self.callbacks is None or self._stopping:
            return 0
        free = self.config.concurrency - len(self._callback_posts)
        claimed = await self.store.claim_callbacks(now, free, self.owner, self.config.lease)
        for callback in claimed:
            task = asyncio.create_task(self._post_callback(callback), name=f"post-{callback.id}")
            self._callback_posts.add(task)
            task.add_done_callback(self._callback_posts.discard)
        return len(claimed)

    async def _post_callback(self, callback: CallbackClaim) -> None:
        assert self.callbacks is not None
        outcome = await self.callbacks.deliver(callback)
        if not await self.store.finish_callback(callback, outcome, self.clock()):
            log.warning("late result for callback %s refused: its lease moved on", callback.id)

    async def _record_breaches(self, now: datetime) -> None:
        """Promises broken by now: the store records each once (any instance may)."""
        while True:
            found = await self.store.fire_due_breaches(now, BREACH_BATCH)
            for breach in found:
                self.metrics.promise_breached(breach.status)
            if len(found) < BREACH_BATCH or self._stopping:
                return

    def _done(self, task: asyncio.Task[None]) -> None:
        claim = self._inflight.pop(task, None)
        if claim is not None:
            self._sending.discard(claim.notification_id)
        if not self._stopping:
            self.wake()  # a slot is free; there may be backlog

    async def drain(self, *, rounds: int = 1000) -> None:
        """Dispatch until nothing is due now and nothing is in flight."""
        for _ in range(rounds):
            claimed = await self.tick()
            busy = [*self._inflight, *self._callback_posts]
            if busy:
                await asyncio.wait(busy)
            elif not claimed:
                return

    async def stop(self, grace: timedelta) -> None:
        """Stop claiming; let in-flight sends finish within `grace`; release the rest."""
        self._stopping = True
        self.wake()
        async with self._ticking:
            pending = [*self._inflight, *self._callback_posts]
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace.total_seconds())
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._finisher.stop()

    # --- one notification -------------------------------------------------------------
    async def _deliver(self, claim: Claim) -> None:
        try:
            await self._deliver_and_record(claim)
        finally:
            await self._cap_slots.give_back(claim.notification_id)

    async def _deliver_and_record(self, claim: Claim) -> None:
        try:
            decision = await self._decide(claim)
        except asyncio.CancelledError:
            await self._abandon(claim)
            raise
        except Exception as exc:  # a bug must not lose the notification
            log.exception("delivery of %s failed unexpectedly", claim.notification_id)
            decision = delivery.after_error(
                claim,
                TransientDeliveryError(f"internal error: {exc!r}"),
                self.policies.retry,
                self.clock(),
            )
        if decision is None:
            await self.store.release([claim], self.clock())
            return
        await self._record(claim, decision)

    async def _abandon(self, claim: Claim) -> None:
        """Shutdown grace ran out. Before the provider call: give it back untouched.
        During it: the provider may have it, so retry later as a possible duplicate."""
        now = self.clock()
        if claim.notification_id not in self._sending:
            await self.store.release([claim], now)
            return
        decision = Decision(
            DecisionKind.RETRY, detail="shut down mid-send", at=now, outcome_unknown=True
        )
        await self.store.finish([(claim, decision)], now)

    async def _record(self, claim: Claim, decision: Decision) -> None:
        accepted = (await self._finisher.submit([(claim, decision)]))[0]
        if not accepted:
            log.warning("late result for %s refused: its lease moved on", claim.notification_id)
            return
        self._count(claim, decision)

    def _count(self, claim: Claim, decision: Decision) -> None:
        activity.decided(claim, decision)
        if decision.kind is DecisionKind.SENT:
            seconds = (self.clock() - claim.due_at).total_seconds()
            self.metrics.notification_sent(claim.channel, max(seconds, 0.0))
            self._count_dark_stretch(claim)
        elif decision.kind in (DecisionKind.RETRY, DecisionKind.FAIL):
            self.metrics.notification_failed(claim.channel, decision.kind.value)
            if decision.kind is DecisionKind.FAIL and decision.fallback_channel is None:
                self.metrics.unreachable()

    def _count_dark_stretch(self, claim: Claim) -> None:
        thread = claim.case.thread
        if thread is None or not is_contact(claim.kind, NotificationState.SENT):
            return
        ended = closed_stretch(thread, Contact(self.clock(), ContactKind.SENT, claim.channel))
        if ended is not None:
            self.metrics.dark_stretch_ended(ended.total_seconds())

    async def _decide(self, claim: Claim) -> Decision | None:
        now = self.clock()
        early = await self._gate(claim, now)
        if early is not None:
            return early
        try:
            message = await self._message(claim, now)
        except TemplateError as exc:
            detail = f"template {claim.template!r} failed: {exc}"
            return Decision(
                DecisionKind.FAIL, detail=detail, fallback_channel=delivery.fallback_channel(claim)
            )
        if self._stopping:
            return None
        # Rendering awaited a worker thread: the provider may have been found failing
        # meanwhile by another send.
        return self._outage_deferral(claim, self.clock()) or await self._send(claim, message)

    def _outage_deferral(self, claim: Claim, now: datetime) -> Decision | None:
        if self.guards.allows(claim.channel, now):
            return None
        at = self.guards.reopen_at(claim.channel) or now
        detail = f"{claim.channel} provider is failing: waiting for it to recover"
        return Decision(DecisionKind.DEFER, detail=detail, at=at)

    async def _gate(self, claim: Claim, now: datetime) -> Decision | None:
        decision = delivery.still_wanted(claim) or delivery.quiet_deferral(
            claim, self.policies.quiet_hours, now
        )
        if decision is not None:
            return decision
        outage = self._outage_deferral(claim, now)
        if outage is not None:
            return outage
        if not self.policies.caps_anything or delivery.bypasses_limits(claim.priority):
            return None

        async def hold(in_flight: list[datetime]) -> Decision | None:
            sent = await self.store.recent_sends(
                claim.customer.id, now - self.policies.cap.lookback
            )
            return delivery.cap_deferral(claim, self.policies.cap, [*sent, *in_flight], now)

        return await self._cap_slots.take(claim.customer.id, claim.notification_id, now, hold)

    async def _message(self, claim: Claim, now: datetime) -> OutgoingMessage:
        customer = claim.customer
        locale = customer.locale or self.config.default_locale
        unsubscribe = self._unsubscribe_url(claim)
        context = build_context(
            customer=customer,
            case=claim.case,
            event=claim.event,
            unsubscribe_url=unsubscribe,
            now=now,
            locale=locale,
            case_url=self._case_url(claim),
        )
        # Off the event loop: a slow template must not stall ingest, health or others.
        rendered: RenderedMessage = await self.renderer.render_async(
            claim.template, claim.channel, locale, context
        )
        return OutgoingMessage(
            notification_id=claim.notification_id,
            message_key=claim.message_key,
            case_id=claim.case.id,
            status=claim.case.status,
            customer=customer,
            channel=claim.channel,
            address=customer.address(claim.channel) or "",
            rendered=rendered,
            thread_key=thread_key(claim.case.id),
            unsubscribe_url=unsubscribe,
        )

    def _unsubscribe_url(self, claim: Claim) -> str | None:
        if claim.channel != "email":
            return None
        return unsubscribe_url(self.config.public_url, self.tokens.make(claim.customer.id, "email"))

    def _case_url(self, claim: Claim) -> str | None:
        if self.case_tokens is None:
            return None
        token = self.case_tokens.make(claim.case.id, claim.customer.id)
        return case_url(self.config.public_url, token)

    async def _send(self, claim: Claim, message: OutgoingMessage) -> Decision:
        channel = self.channels[claim.channel]
        if self.limiter is not None and claim.attempt > 1:
            # Retries are what storm a recovering provider: bound them per channel.
            await self.limiter.acquire(claim.channel)
        self._sending.add(claim.notification_id)
        try:
            async with asyncio.timeout(self.config.send_timeout.total_seconds()):
                receipt = await channel.send(message)
        except DeliveryError as exc:
            if isinstance(exc, TransientDeliveryError):
                self.guards.record_failure(claim.channel, self.clock())
            return delivery.after_error(claim, exc, self.policies.retry, self.clock())
        except TimeoutError:
            error = TransientDeliveryError("send timed out", outcome_unknown=True)
            return delivery.after_error(claim, error, self.policies.retry, self.clock())
        # No `finally: discard` here: a shutdown cancelling the call must still find the
        # id in _sending, so _abandon treats it as possibly sent. _done forgets it.
        self.guards.record_success(claim.channel, self.clock())
        return delivery.after_receipt(receipt)


def thread_key(case_id: str) -> str:
    """Stable per case, opaque: emails of one case reference it to thread together."""
    return hashlib.sha256(case_id.encode()).hexdigest()[:32]
