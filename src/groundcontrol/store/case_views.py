"""What the store answers about cases and the golden thread (read side values)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from groundcontrol.planning.callbacks import PROMISE_BREACHED, CallbackRoutes, callback_row
from groundcontrol.planning.golden_thread import Thread


@dataclass(frozen=True)
class CaseView:
    case_id: str
    customer_id: str
    status: str
    source: str | None
    thread: Thread

    def public_dict(self, now: datetime) -> dict[str, Any]:
        """The `GET /v1/cases/{id}` shape (DESIGN.md, "The golden thread")."""
        thread, contact = self.thread, self.thread.last_contact
        return {
            "case_id": self.case_id,
            "status": self.status,
            "source": self.source,
            "customer_id": self.customer_id,
            "open": thread.open,
            "opened_at": thread.opened_at.isoformat(),
            "dark_since": thread.dark_since.isoformat(),
            "dark_seconds": thread.dark_seconds(now),
            "promise_seconds": thread.promise.total_seconds() if thread.promise else None,
            "breached": thread.breached(now),
            "last_contact": {
                "at": contact.at.isoformat(),
                "kind": contact.kind.value,
                "channel": contact.channel,
                "notification_id": contact.notification_id,
            }
            if contact
            else None,
        }


class CaseOrder(StrEnum):
    DARKEST = "-dark"  # darkest first: dark_since ascending
    LIGHTEST = "dark"

    @property
    def ascending(self) -> bool:
        return self is CaseOrder.DARKEST


@dataclass(frozen=True)
class CaseCursor:
    """Keyset position: the last case of the previous page."""

    dark_since: datetime
    case_id: str


@dataclass(frozen=True)
class CaseFilter:
    open: bool | None = None
    breached: bool | None = None
    status: str | None = None
    source: str | None = None
    dark_longer_than: timedelta | None = None
    order: CaseOrder = CaseOrder.DARKEST
    limit: int = 50
    after: CaseCursor | None = None


@dataclass(frozen=True)
class CasePage:
    items: list[CaseView]
    next: CaseCursor | None


@dataclass(frozen=True)
class Breach:
    """A promise broken and recorded: once per dark stretch."""

    case_id: str
    customer_id: str
    status: str
    source: str | None
    dark_since: datetime
    deadline: datetime

    def row(self, recorded_at: datetime) -> dict[str, Any]:
        """The `breaches` table row."""
        return {
            "case_id": self.case_id,
            "customer_id": self.customer_id,
            "status": self.status,
            "source": self.source,
            "dark_since": self.dark_since,
            "deadline": self.deadline,
            "recorded_at": recorded_at,
        }

    def entry(self) -> tuple[str, None, dict[str, Any]]:
        """The case's `promise_breached` timeline entry."""
        return (
            "promise_breached",
            None,
            {
                "status": self.status,
                "dark_since": self.dark_since.isoformat(),
                "deadline": self.deadline.isoformat(),
                "promise_seconds": (self.deadline - self.dark_since).total_seconds(),
            },
        )


@dataclass(frozen=True)
class GroupFigures:
    open: int
    breached_now: int
    p95_dark_seconds: float | None

    def public_dict(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "breached_now": self.breached_now,
            "p95_dark_seconds": self.p95_dark_seconds,
        }


@dataclass(frozen=True)
class DarkFigures:
    p50: float | None = None
    p95: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class GoldenThreadSummary:
    open_cases: int
    breached_now: int
    dark_seconds: DarkFigures
    breaches_in_window: int
    by_status: Mapping[str, GroupFigures] = field(default_factory=dict)
    by_source: Mapping[str, GroupFigures] = field(default_factory=dict)

    def public_dict(self, window: timedelta) -> dict[str, Any]:
        return {
            "window_seconds": window.total_seconds(),
            "open_cases": self.open_cases,
            "breached_now": self.breached_now,
            "dark_seconds": {
                "p50": self.dark_seconds.p50,
                "p95": self.dark_seconds.p95,
                "max": self.dark_seconds.max,
            },
            "breaches_in_window": self.breaches_in_window,
            "by_status": {k: v.public_dict() for k, v in sorted(self.by_status.items())},
            "by_source": {k: v.public_dict() for k, v in sorted(self.by_source.items())},
        }


def breach_callbacks(
    routes: CallbackRoutes, found: Sequence[Breach], now: datetime
) -> list[dict[str, Any]]:
    """The `case.promise_breached` callback rows of recorded breaches (every engine)."""
    rows = []
    for breach in found:
        row = callback_row(
            routes,
            PROMISE_BREACHED,
            source=breach.source,
            case_id=breach.case_id,
            customer_id=breach.customer_id,
            status=breach.status,
            data=breach.entry()[2],
            now=now,
        )
        if row is not None:
            rows.append(row)
    return rows
