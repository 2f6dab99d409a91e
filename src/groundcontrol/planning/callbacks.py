"""Telling the back office: the callback rows an event of the golden thread plans for
the source that sent the case's latest event (DESIGN.md, "Telling the back office").

Pure. The store writes the rows in the transaction that records what happened, so a
callback is as durable as the breach or failure it reports; delivery posts them with
the same retry policy, leases, breaker and dead letters as customer messages.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from groundcontrol.domain import (
    CaseState,
    Claim,
    Decision,
    DecisionKind,
    Event,
    IngestResult,
    IngestStatus,
    NotificationKind,
)
from groundcontrol.planning.rows import Entry

PROMISE_BREACHED = "case.promise_breached"
UNREACHABLE = "customer.unreachable"
CONTACT_INVALID = "contact.invalid"
NOTIFICATION_STATUS = "notification.status"


@dataclass(frozen=True)
class CallbackRoutes:
    """Which sources want which callback types (from `[sources.NAME] callback_*`)."""

    wanted: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def wants(self, source: str | None, kind: str) -> bool:
        return source is not None and kind in self.wanted.get(source, frozenset())

    def anyone_wants(self, kind: str) -> bool:
        """Whether any source asked for `kind`: when none did, nothing is looked up."""
        return any(kind in kinds for kinds in self.wanted.values())


NONE = CallbackRoutes()
_ORDER = itertools.count()


def callback_id(now: datetime) -> str:
    """A new callback id that sorts by creation: the time it was planned, then a counter
    for the callbacks one transaction plans at the same instant, then randomness so two
    instances never collide (35 characters)."""
    micros = int(now.timestamp() * 1_000_000)
    return f"cb_{micros:014x}{next(_ORDER) % 16**6:06x}{secrets.token_hex(6)}"


def callback_row(
    routes: CallbackRoutes,
    kind: str,
    *,
    source: str | None,
    case_id: str,
    customer_id: str,
    status: str,
    data: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any] | None:
    """The `callbacks` row to post, or None when the source did not ask for `kind`.
    Its id is the body's `id` and the `webhook-id` of every attempt."""
    if not routes.wants(source, kind):
        return None
    new_id = callback_id(now)
    body = {
        "type": kind,
        "id": new_id,
        "occurred_at": now.isoformat(),
        "case_id": case_id,
        "customer_id": customer_id,
        "status": status,
        "data": dict(data),
    }
    return {
        "id": new_id,
        "source": source,
        "type": kind,
        "case_id": case_id,
        "body": body,
        "state": "pending",
        "due_at": now,
        "attempts": 0,
        "lease_version": 0,
        "created_at": now,
        "updated_at": now,
    }


def failure_callbacks(
    routes: CallbackRoutes, claim: Claim, decision: Decision, now: datetime
) -> list[dict[str, Any]]:
    """What a failed customer message tells the back office: `contact.invalid` when the
    address is refused for good, `customer.unreachable` when no channel is left."""
    if decision.kind is not DecisionKind.FAIL or claim.kind is NotificationKind.TEST:
        return []
    data: dict[str, Any] = {
        "notification_id": claim.notification_id,
        "channel": claim.channel,
        "detail": decision.detail,
    }
    kinds = [CONTACT_INVALID] if decision.invalid_address else []
    if decision.fallback_channel is None:
        kinds.append(UNREACHABLE)
        data["tried_channels"] = [*claim.tried_channels, claim.channel]
    rows = [
        callback_row(
            routes,
            kind,
            source=claim.case.source,
            case_id=claim.case.id,
            customer_id=claim.customer.id,
            status=claim.case.status,
            data=data,
            now=now,
        )
        for kind in kinds
    ]
    return [row for row in rows if row is not None]


def unreachable_callbacks(
    routes: CallbackRoutes,
    events: Sequence[Event],
    results: Sequence[IngestResult],
    now: datetime,
) -> list[dict[str, Any]]:
    """`customer.unreachable` for each event whose rule found no usable channel (the
    customer opted out of all, or has no address for any): written with the event."""
    rows = []
    for event, result in zip(events, results, strict=True):
        if result.status is not IngestStatus.ACCEPTED or result.outcome != "unreachable":
            continue
        row = callback_row(
            routes,
            UNREACHABLE,
            source=event.source,
            case_id=event.case_id,
            customer_id=event.customer.id,
            status=event.status,
            data={"event_id": event.id, "detail": "customer has no usable channel"},
            now=now,
        )
        if row is not None:
            rows.append(row)
    return rows


@dataclass(frozen=True)
class CaseRef:
    """The case a timeline entry belongs to, as far as a callback needs it."""

    case_id: str
    customer_id: str
    status: str
    source: str | None

    @classmethod
    def of(cls, case: CaseState) -> CaseRef:
        return cls(case.id, case.customer_id, case.status, case.source)


def entry_callbacks(
    routes: CallbackRoutes, case: CaseRef, entries: Sequence[Entry], now: datetime
) -> list[dict[str, Any]]:
    """`customer.unreachable` for each `unreachable` timeline entry that a delivery
    report (undelivered, no channel left) or a follow-up (no usable channel) writes:
    written with the entry, in the same transaction."""
    rows = []
    for kind, notification_id, detail in entries:
        if kind != "unreachable":
            continue
        data = {"notification_id": notification_id, **detail}
        row = callback_row(
            routes,
            UNREACHABLE,
            source=case.source,
            case_id=case.case_id,
            customer_id=case.customer_id,
            status=case.status,
            data=data,
            now=now,
        )
        if row is not None:
            rows.append(row)
    return rows
