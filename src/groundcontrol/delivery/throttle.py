"""Riding out a provider outage: a send-rate bound and a circuit breaker per channel.

The token bucket spreads attempts so a backlog of retries cannot become a storm
(at most `rate` attempts a second per channel, after a burst). The outage guard
stops attempting a channel that keeps failing, for a cool-down that doubles while
the outage lasts, so the dispatcher defers those sends instead of burning their
attempts. Both are per process: with several instances the bound is per instance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class TokenBucket:
    """`rate` tokens a second, holding at most `burst`; starts full.

    `take` always takes a token, borrowing against the future when none is left,
    so concurrent callers queue up one `1/rate` apart instead of all waking at once.
    """

    rate: float
    burst: int
    tokens: float | None = None  # None: full
    updated: float | None = None  # monotonic seconds of the last take

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be positive, got {self.rate}")
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {self.burst}")

    def available(self, now: float) -> float:
        """Tokens at `now` (negative: borrowed by callers still waiting)."""
        if self.tokens is None or self.updated is None:
            return float(self.burst)
        elapsed = max(0.0, now - self.updated)  # a clock stepping back refills nothing
        return min(float(self.burst), self.tokens + elapsed * self.rate)

    def take(self, now: float) -> tuple[TokenBucket, float]:
        """The bucket after taking one token, and how many seconds to wait before using it."""
        left = self.available(now) - 1.0
        wait = 0.0 if left >= 0 else -left / self.rate
        updated = now if self.updated is None else max(now, self.updated)
        return replace(self, tokens=left, updated=updated), wait


class RateLimiter:
    """One token bucket per channel; `acquire` sleeps until the caller may send."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._fresh = TokenBucket(rate, burst)
        self._buckets: dict[str, TokenBucket] = {}
        self._monotonic = monotonic
        self._sleep = sleep

    def reserve(self, channel: str) -> float:
        """Take a token for `channel` now; the seconds to wait before sending."""
        bucket = self._buckets.get(channel, self._fresh)
        self._buckets[channel], wait = bucket.take(self._monotonic())
        return wait

    async def acquire(self, channel: str) -> float:
        """Wait for `channel`'s next slot; returns the seconds waited.

        A cancelled wait keeps its token spent: the bound errs on the slow side.
        """
        wait = self.reserve(channel)
        if wait > 0:
            await self._sleep(wait)
        return wait


@dataclass(frozen=True)
class OutageGuard:
    """A circuit breaker for one channel, as a value.

    `threshold` consecutive transient failures open it for `cool_down`. Once that
    has passed, sends are tried again (the rate limiter spreads them); the first
    failure opens it again for twice as long, up to `max_cool_down`. Any success
    closes it and resets the cool-down. Failures that arrive while it is open came
    from sends started before it opened and do not extend it.
    """

    threshold: int = 5
    cool_down: timedelta = timedelta(seconds=30)
    max_cool_down: timedelta = timedelta(minutes=10)
    failures: int = 0  # consecutive, since the last success or opening
    trips: int = 0  # openings since the last success
    reopen_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError(f"threshold must be at least 1, got {self.threshold}")
        if not timedelta(0) < self.cool_down <= self.max_cool_down:
            raise ValueError("cool_down must be positive and at most max_cool_down")

    def allows(self, now: datetime) -> bool:
        """Whether a send on this channel may be attempted at `now`."""
        return self.reopen_at is None or now >= self.reopen_at

    def record_success(self, now: datetime) -> OutageGuard:
        """The provider accepted a message: the outage, if any, is over."""
        return replace(self, failures=0, trips=0, reopen_at=None)

    def record_failure(self, now: datetime) -> OutageGuard:
        """The provider failed transiently; may open the breaker."""
        if not self.allows(now):
            return self
        failures = self.failures + 1
        probe_failed = self.trips > 0
        if failures < self.threshold and not probe_failed:
            return replace(self, failures=failures)
        return replace(self, failures=0, trips=self.trips + 1, reopen_at=now + self._next_pause())

    def _next_pause(self) -> timedelta:
        doublings = min(self.trips, 32)  # 2**32 cool-downs is past any sane cap
        return min(self.max_cool_down, self.cool_down * (1 << doublings))


class ChannelGuards:
    """One `OutageGuard` per channel, for the dispatcher to consult and update."""

    def __init__(self, template: OutageGuard | None = None) -> None:
        self._template = template or OutageGuard()
        self._guards: dict[str, OutageGuard] = {}

    def __getitem__(self, channel: str) -> OutageGuard:
        return self._guards.get(channel, self._template)

    def allows(self, channel: str, now: datetime) -> bool:
        return self[channel].allows(now)

    def reopen_at(self, channel: str) -> datetime | None:
        """When a deferred send on an open channel should be tried again."""
        return self[channel].reopen_at

    def record_success(self, channel: str, now: datetime) -> None:
        self._guards[channel] = self[channel].record_success(now)

    def record_failure(self, channel: str, now: datetime) -> None:
        self._guards[channel] = self[channel].record_failure(now)
