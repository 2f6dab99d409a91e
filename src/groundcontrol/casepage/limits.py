"""Rate limits for the case page: so many requests per key (a client address, a token)
per fixed window. Memory is bounded: past `max_keys` keys in one window, new keys are
refused until the window turns (that only happens under a flood, which is the point)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass
class WindowLimit:
    limit: int
    window: timedelta
    max_keys: int = 50_000
    _started: datetime | None = field(default=None, init=False)
    _counts: dict[str, int] = field(default_factory=dict, init=False)

    def allow(self, key: str, now: datetime) -> bool:
        """Count one request for `key`; False when it is over the limit."""
        self._turn(now)
        if key not in self._counts and len(self._counts) >= self.max_keys:
            return False
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key] <= self.limit

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        start = self._window_start(now)
        return max(1, int((start + self.window - now).total_seconds() + 0.999))

    def _turn(self, now: datetime) -> None:
        start = self._window_start(now)
        if start != self._started:
            self._started, self._counts = start, {}

    def _window_start(self, now: datetime) -> datetime:
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        return epoch + ((now - epoch) // self.window) * self.window
