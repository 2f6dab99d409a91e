"""The virtual clock: the service's injected clock, moved by the runner instead of time."""

from __future__ import annotations

from datetime import datetime


class VirtualClock:
    """A `Callable[[], datetime]` that reads what the runner set; it never goes back."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def move_to(self, at: datetime) -> datetime:
        self.now = max(self.now, at)
        return self.now
