"""The per-customer frequency cap: at most N messages an hour and M a day, all sources.

Windows are rolling: "a day" is the last 24 hours, not the calendar day. A message
sent exactly one window ago no longer counts, so with a cap of 3 per hour and sends
at 10:00, 10:20 and 10:40, the next may go at 11:00 sharp.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from groundcontrol.domain import Priority
from groundcontrol.settings import LimitSettings

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class CapDecision:
    """Whether a message may go now; if not, the earliest time it may and why."""

    allowed: bool
    retry_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class _Window:
    limit: int
    length: timedelta
    label: str

    def breach(self, sent_at: Sequence[datetime], now: datetime) -> tuple[datetime, str] | None:
        """When this window lets one more message through, and why it does not yet."""
        # Messages stamped later than `now` (another instance's clock) still count.
        recent = sorted(t for t in sent_at if t > now - self.length)
        if len(recent) < self.limit:
            return None
        # Once the oldest len - limit + 1 have aged out, one slot is free.
        frees_at = recent[len(recent) - self.limit] + self.length
        count = f"{len(recent)} message{'s' if len(recent) != 1 else ''}"
        return frees_at, f"{count} in the last {self.label} (cap {self.limit})"


@dataclass(frozen=True)
class FrequencyCap:
    """At most `per_hour` messages in any hour and `per_day` in any 24 h; None: no limit.

    Urgent messages bypass the cap (but, once sent, count toward it).
    """

    per_hour: int | None = None
    per_day: int | None = None

    def __post_init__(self) -> None:
        for name in ("per_hour", "per_day"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 or None, got {value}")

    @classmethod
    def from_settings(cls, limits: LimitSettings) -> FrequencyCap:
        """The cap configured by `[limits]`: per_hour, per_day."""
        return cls(per_hour=limits.per_hour, per_day=limits.per_day)

    @property
    def lookback(self) -> timedelta:
        """How far back `decide` needs the customer's send times."""
        return DAY if self.per_day is not None else HOUR

    def decide(self, sent_at: Sequence[datetime], now: datetime, priority: Priority) -> CapDecision:
        """May a message of `priority` go to a customer who was sent messages at `sent_at`?"""
        if priority is Priority.URGENT:
            return CapDecision(allowed=True, reason="urgent bypasses the frequency cap")
        breaches = [b for w in self._windows() if (b := w.breach(sent_at, now)) is not None]
        if not breaches:
            return CapDecision(allowed=True, reason="within the frequency cap")
        # Send times only age, so the latest of the times each window frees up
        # is the earliest time every window allows one more message.
        return CapDecision(
            allowed=False,
            retry_at=max(frees_at for frees_at, _ in breaches),
            reason="; ".join(why for _, why in breaches),
        )

    def _windows(self) -> list[_Window]:
        windows = []
        if self.per_hour is not None:
            windows.append(_Window(self.per_hour, HOUR, "hour"))
        if self.per_day is not None:
            windows.append(_Window(self.per_day, DAY, "24 hours"))
        return windows
