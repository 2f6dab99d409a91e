"""A case's timeline read back into figures: messages, dark time, breaches and why
messages waited, in total and for each status the case passed through.

The timeline is the one the store wrote during the replay (the same entries
`GET /v1/cases/{id}/timeline` shows), breaches included: the dispatcher records them
there. Dark time per status follows the case's golden thread along the timeline, with
the definitions of `planning/golden_thread.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from groundcontrol.planning.golden_thread import (
    Contact,
    ContactKind,
    Thread,
    after_contact,
    after_event,
)
from groundcontrol.planning.journeys import Journeys
from groundcontrol.store.contract import TimelineEntry

IGNORED_OUTCOMES = ("stale",)  # recorded, but the case did not move


@dataclass
class StatusFigures:
    """What happened to one case while it was in one status."""

    messages: int = 0
    dark_seconds: float = 0.0  # the longest the customer was in the dark
    breaches: int = 0
    quiet_deferrals: int = 0
    cap_holds: int = 0
    follow_ups: int = 0
    fallbacks: int = 0
    unreachable: int = 0

    def add(self, other: StatusFigures) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dark_seconds = max(self.dark_seconds, other.dark_seconds)


_COUNTS = (
    "messages",
    "breaches",
    "quiet_deferrals",
    "cap_holds",
    "follow_ups",
    "fallbacks",
    "unreachable",
)


@dataclass
class CaseFigures:
    case_id: str
    status: str = ""  # at the end of the window
    open: bool = True
    by_status: dict[str, StatusFigures] = field(default_factory=dict)

    def total(self) -> StatusFigures:
        whole = StatusFigures()
        for figures in self.by_status.values():
            whole.add(figures)
        return whole


def measure(
    case_id: str, timeline: Sequence[TimelineEntry], journeys: Journeys, end: datetime
) -> CaseFigures:
    walk = _Walk(CaseFigures(case_id), journeys)
    for entry in timeline:
        walk.step(entry)
    walk.until(end)
    return walk.figures


class _Walk:
    """The timeline, entry by entry, with the case's golden thread beside it."""

    def __init__(self, figures: CaseFigures, journeys: Journeys) -> None:
        self.figures = figures
        self.journeys = journeys
        self.thread: Thread | None = None
        self.follow_up_ids: set[str] = set()

    @property
    def current(self) -> StatusFigures:
        return self.figures.by_status.setdefault(self.figures.status, StatusFigures())

    def until(self, at: datetime) -> None:
        """Time passes to `at`: the dark grows."""
        if self.thread is None:
            return
        dark = self.thread.dark_seconds(at)
        if dark is not None:
            self.current.dark_seconds = max(self.current.dark_seconds, dark)

    def step(self, entry: TimelineEntry) -> None:
        self.until(entry.at)
        handler = _HANDLERS.get(entry.kind)
        if handler is not None:
            handler(self, entry)

    def event(self, entry: TimelineEntry) -> None:
        if entry.detail.get("outcome") in IGNORED_OUTCOMES:
            return
        status = str(entry.detail["status"])
        self.thread = after_event(self.thread, self.journeys, status, entry.at)
        self.figures.status, self.figures.open = status, self.thread.open
        self.current  # noqa: B018 - a status the case visited shows even with nothing in it

    def planned(self, entry: TimelineEntry) -> None:
        if entry.detail.get("kind") == "follow_up" and entry.notification_id:
            self.follow_up_ids.add(entry.notification_id)

    def sent(self, entry: TimelineEntry) -> None:
        self.current.messages += 1
        if entry.notification_id in self.follow_up_ids:
            self.current.follow_ups += 1
        if self.thread is not None:
            contact = Contact(entry.at, ContactKind.SENT, notification_id=entry.notification_id)
            self.thread = after_contact(self.thread, contact)

    def deferred(self, entry: TimelineEntry) -> None:
        why = str(entry.detail.get("detail", ""))
        if why == "quiet hours":
            self.current.quiet_deferrals += 1
        elif why.startswith("frequency cap"):
            self.current.cap_holds += 1

    def breach(self, entry: TimelineEntry) -> None:
        self.current.breaches += 1

    def fallback(self, entry: TimelineEntry) -> None:
        self.current.fallbacks += 1

    def unreachable(self, entry: TimelineEntry) -> None:
        self.current.unreachable += 1


_HANDLERS = {
    "event": _Walk.event,
    "planned": _Walk.planned,
    "sent": _Walk.sent,
    "deferred": _Walk.deferred,
    "promise_breached": _Walk.breach,
    "fallback": _Walk.fallback,
    "unreachable": _Walk.unreachable,
    "dead": _Walk.unreachable,
}
