"""When to try a failed send again: exponential backoff with full jitter, as a value.

The policy only computes a time; the dispatcher stores it as the row's durable
`next_attempt_at`, so a wait survives restarts and is shared by every instance.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from groundcontrol.settings import DeliverySettings

# Past this exponent initial * 2**n exceeds any sane maximum; it also keeps the
# float arithmetic finite for absurd attempt numbers.
_MAX_EXPONENT = 64


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded attempts and Retry-After.

    After attempt n failed, the next attempt waits a uniform draw from
    [0, min(maximum, initial * 2**(n-1))], but at least `floor`, so a zero draw
    cannot hot-loop. A provider's Retry-After is a lower bound and is honoured
    even above `maximum` (the provider knows its outage better than our
    backoff does), but never beyond `retry_after_ceiling`, so a bogus
    "Retry-After: 1 year" cannot park a message for good.
    """

    initial: timedelta
    maximum: timedelta
    max_attempts: int
    floor: timedelta = timedelta(seconds=1)
    retry_after_ceiling: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.initial <= timedelta(0):
            raise ValueError("backoff initial delay must be positive")
        if self.maximum < self.initial:
            raise ValueError("backoff maximum must be at least the initial delay")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not timedelta(0) <= self.floor <= self.maximum:
            raise ValueError("backoff floor must be between 0 and the maximum")
        if self.retry_after_ceiling < timedelta(0):
            raise ValueError("retry_after_ceiling must not be negative")

    @classmethod
    def from_settings(cls, delivery: DeliverySettings) -> RetryPolicy:
        """The policy configured by `[delivery]`: backoff_initial, backoff_max, max_attempts."""
        return cls(
            initial=delivery.duration("backoff_initial"),
            maximum=delivery.duration("backoff_max"),
            max_attempts=delivery.max_attempts,
        )

    def exhausted(self, attempt: int) -> bool:
        """True when `attempt` attempts made so far use up the budget."""
        _check_attempt(attempt)
        return attempt >= self.max_attempts

    def cap(self, attempt: int) -> timedelta:
        """The largest jittered delay after `attempt` failures: initial doubled, up to maximum."""
        _check_attempt(attempt)
        exponent = min(attempt - 1, _MAX_EXPONENT)
        seconds = self.initial.total_seconds() * 2.0**exponent
        if seconds >= self.maximum.total_seconds():
            return self.maximum
        return timedelta(seconds=seconds)

    def delay(
        self,
        attempt: int,
        *,
        retry_after: timedelta | None = None,
        rand: Callable[[], float] = random.random,
    ) -> timedelta:
        """How long to wait after `attempt` failures, ignoring exhaustion."""
        draw = rand()
        if not 0.0 <= draw <= 1.0:
            raise ValueError(f"rand() must return a number in [0, 1], got {draw!r}")
        jittered = max(self.floor, self.cap(attempt) * draw)
        if retry_after is None:
            return jittered
        return max(jittered, min(retry_after, self.retry_after_ceiling))

    def next_attempt(
        self,
        attempt: int,
        now: datetime,
        *,
        retry_after: timedelta | None = None,
        rand: Callable[[], float] = random.random,
    ) -> datetime | None:
        """When to make attempt `attempt + 1`, or None when the attempts are used up.

        `attempt` is the number of attempts made so far (1 after the first failure).
        """
        if self.exhausted(attempt):
            return None
        return now + self.delay(attempt, retry_after=retry_after, rand=rand)


def _check_attempt(attempt: int) -> None:
    if attempt < 1:
        raise ValueError(f"attempt counts from 1 (attempts made so far), got {attempt}")
