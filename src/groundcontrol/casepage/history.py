"""The case's timeline in the customer's terms: what changed and when we told them.

Internal steps (planning, retries, deferrals, cancellations, the customer's own views)
stay out: the customer sees status changes, messages that went out and their own choices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from groundcontrol.store.contract import TimelineEntry

# Events that changed nothing for the customer: older than the case, or the same status.
_SILENT_OUTCOMES = frozenset({"stale", "unchanged"})
CASE_PAGE_REASON = "case page"


@dataclass(frozen=True)
class Step:
    """One line of the history the page shows; `kind` is what the words template reads."""

    at: datetime
    kind: str  # status | message | preferences | opted_out | opted_in
    status: str | None = None
    channel: str | None = None

    def as_context(self) -> dict[str, object]:
        return {"kind": self.kind, "status": self.status, "channel": self.channel, "at": self.at}


def customer_history(entries: Iterable[TimelineEntry]) -> list[Step]:
    """Oldest first, as the timeline is."""
    steps = (_step(entry) for entry in entries)
    return [step for step in steps if step is not None]


def _step(entry: TimelineEntry) -> Step | None:
    detail = entry.detail
    if entry.kind == "event" and detail.get("outcome") not in _SILENT_OUTCOMES:
        return Step(entry.at, "status", status=str(detail.get("status")))
    if entry.kind == "sent":
        return Step(entry.at, "message", channel=str(detail.get("channel")))
    if entry.kind == "preferences_changed":
        return Step(entry.at, "preferences")
    if entry.kind in ("opted_out", "opted_in") and detail.get("reason") != CASE_PAGE_REASON:
        # An opt-out through the page is part of its "preferences" line already.
        return Step(entry.at, entry.kind, channel=str(detail.get("channel")))
    return None
