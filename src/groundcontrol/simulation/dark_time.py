"""STAND-IN for `groundcontrol.golden_thread` (issue 19), which is not on this branch yet.

The same names and meanings as that module's draft (contact, open/final, dark_since,
promise, breach), reduced to what the simulator reads. When `golden_thread.py` is
merged, `measures.py` imports these names from it instead and this file is deleted:
it must not become a second definition.

Until journeys have `final` and `promise` (also issue 19), rules without them mean:
no status closes a case and no promise applies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from groundcontrol.planning.journeys import Journeys


@dataclass(frozen=True)
class Contact:
    at: datetime


def promise_for(journeys: Journeys, status: str) -> timedelta | None:
    rule = journeys.rule_for(status)
    promise = getattr(rule, "promise", None) if rule is not None else None
    return promise if promise is not None else getattr(journeys, "default_promise", None)


def is_final(journeys: Journeys, status: str) -> bool:
    rule = journeys.rule_for(status)
    return bool(getattr(rule, "final", False))


@dataclass(frozen=True)
class Thread:
    open: bool
    opened_at: datetime
    dark_since: datetime
    promise: timedelta | None
    breached_at: datetime | None = None

    @property
    def deadline(self) -> datetime | None:
        if not self.open or self.promise is None:
            return None
        return self.dark_since + self.promise

    @property
    def breach_due(self) -> datetime | None:
        return self.deadline if self.breached_at is None else None

    def dark_seconds(self, now: datetime) -> float | None:
        if not self.open:
            return None
        return max(0.0, (now - self.dark_since).total_seconds())


def after_event(
    thread: Thread | None, journeys: Journeys, status: str, received_at: datetime
) -> Thread:
    promise = promise_for(journeys, status)
    final = is_final(journeys, status)
    if thread is None:
        return Thread(not final, received_at, received_at, promise)
    if final:
        return replace(thread, open=False, promise=promise, breached_at=None)
    if not thread.open:
        return replace(thread, open=True, opened_at=received_at, dark_since=received_at)
    return replace(thread, promise=promise)


def after_contact(thread: Thread, contact: Contact) -> Thread:
    if contact.at < thread.dark_since:
        return thread
    return replace(thread, dark_since=contact.at, breached_at=None)


def after_breach(thread: Thread, at: datetime) -> Thread:
    return replace(thread, breached_at=at)


def rank(count: int, quantile: float) -> int:
    """The 0-based nearest-rank position of `quantile` among `count` sorted values."""
    if count <= 0:
        raise ValueError("no values")
    return max(0, min(count - 1, -(-int(quantile * 1000) * count // 1000) - 1))
