"""Runs every subscription: connect, consume batch after batch, and after any failure
(broker gone, connection cut, store not committing) close, wait with backoff and
connect again. Whatever was in hand and not acknowledged is redelivered by the broker.

On stop, each loop finishes the batch in hand (commit, then acknowledge) and closes;
messages the broker had sent ahead stay unacknowledged and go to the next consumer.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from groundcontrol.metrics import Metrics
from groundcontrol.settings.subscriptions import SubscriptionSettings
from groundcontrol.subscriptions.base import Message, Transport
from groundcontrol.subscriptions.runner import BatchRunner, Context, Ingest, no_context
from groundcontrol.subscriptions.transports import transport_for

log = logging.getLogger(__name__)

LAG_EVERY = 5.0  # seconds between asking the broker for the lag


class State(StrEnum):
    STARTING = "starting"
    CONSUMING = "consuming"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Backoff:
    """Doubling waits between reconnects, from `initial` up to `maximum` seconds."""

    initial: float
    maximum: float

    def delay(self, failures: int) -> float:
        # The exponent is capped: a broker down for days must not overflow the float.
        return min(self.maximum, self.initial * 2.0 ** min(max(0, failures - 1), 64))


class Subscription:
    """One `[[subscriptions]]` entry, consuming until `stop()`."""

    def __init__(
        self, settings: SubscriptionSettings, transport: Transport, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.metrics = metrics
        self.backoff = Backoff(
            settings.duration("reconnect_initial").total_seconds(),
            settings.duration("reconnect_max").total_seconds(),
        )
        self.state = State.STARTING
        self.last_error: str | None = None
        self.lag: int | None = None
        self._stopping = asyncio.Event()
        self._lag_at = 0.0

    @property
    def name(self) -> str:
        return self.settings.name

    def status(self) -> dict[str, Any]:
        """What `/readyz` shows for this subscription."""
        return {
            "state": self.state.value,
            "transport": self.settings.transport,
            "source": self.settings.source,
            "lag": self.lag,
            "last_error": self.last_error,
        }

    async def run(self, ingest: Ingest, context: Context = no_context) -> None:
        runner = BatchRunner(
            self.name, self.settings.source, self.transport, ingest, self.metrics, context
        )
        failures = 0
        while not self._stopping.is_set():
            try:
                await self.transport.connect()
                self._enter(State.CONSUMING)
                failures = 0
                await self._consume(runner)
            except Exception as exc:  # a broker error or a failed commit: start over
                failures += 1
                self._failed(exc, failures)
            finally:
                await self._close()
            if not self._stopping.is_set():
                await self._nap(self.backoff.delay(failures))
        self._enter(State.STOPPED)

    def stop(self) -> None:
        self._stopping.set()

    async def _consume(self, runner: BatchRunner) -> None:
        while not self._stopping.is_set():
            messages = await self.transport.fetch(self.settings.prefetch)
            if messages:
                await self._process(runner, messages)
            await self._refresh_lag()

    async def _process(self, runner: BatchRunner, messages: Sequence[Message]) -> None:
        try:
            await runner.process(messages)
        except Exception:
            await self._release(messages)
            raise

    async def _release(self, messages: Sequence[Message]) -> None:
        try:
            await self.transport.release(messages)
        except Exception as exc:  # the connection went with the failure: closing releases
            log.debug("subscription %s: release failed: %s", self.name, exc)

    async def _refresh_lag(self) -> None:
        if time.monotonic() - self._lag_at < LAG_EVERY:
            return
        self._lag_at = time.monotonic()
        self.lag = await self.transport.lag()
        if self.lag is not None:
            self.metrics.subscription_lag(self.name, self.lag)

    def _enter(self, state: State) -> None:
        if state is State.CONSUMING:
            log.info("subscription %s: consuming", self.name)
            self.last_error = None
        self.state = state
        self.metrics.subscription_connected(self.name, state is State.CONSUMING)

    def _failed(self, exc: Exception, failures: int) -> None:
        self.last_error = str(exc) or type(exc).__name__
        self._enter(State.RECONNECTING)
        log.warning(
            "subscription %s: %s; reconnecting in %.1fs (failure %d)",
            self.name,
            self.last_error,
            self.backoff.delay(failures),
            failures,
            exc_info=failures == 1,
        )

    async def _close(self) -> None:
        try:
            await self.transport.close()
        except Exception as exc:  # closing a dead connection may fail; it is gone anyway
            log.debug("subscription %s: close failed: %s", self.name, exc)

    async def _nap(self, seconds: float) -> None:
        # Jitter, so instances do not all knock on a restarted broker at once.
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds * random.uniform(0.5, 1.0))


class Subscriptions:
    """Every configured subscription, started with the ingest and stopped together."""

    def __init__(self, subscriptions: Sequence[Subscription]) -> None:
        self.all = tuple(subscriptions)
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_settings(
        cls, settings: Sequence[SubscriptionSettings], metrics: Metrics
    ) -> Subscriptions:
        """Builds each transport now (no connection yet): a missing extra fails the start."""
        return cls([Subscription(s, transport_for(s), metrics) for s in settings])

    def start(self, ingest: Ingest, context: Context = no_context) -> None:
        """Consume every subscription; `context` gives the validation context per batch."""
        self._tasks = [
            asyncio.create_task(s.run(ingest, context), name=f"subscription-{s.name}")
            for s in self.all
        ]

    async def stop(self, grace: float) -> None:
        """Finish the batches in hand and disconnect; after `grace` seconds, cancel."""
        for subscription in self.all:
            subscription.stop()
        if not self._tasks:
            return
        _, late = await asyncio.wait(self._tasks, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def status(self) -> Mapping[str, dict[str, Any]]:
        return {s.name: s.status() for s in self.all}
