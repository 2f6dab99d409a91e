"""The store contract, at the level of domain operations.

SQLite and PostgreSQL differ in SQL, not in meaning: every engine implements this
protocol and passes the same contract suite (tests/contract/).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from groundcontrol.domain import (
    CaseState,
    ChannelName,
    Customer,
    Event,
    NotificationKind,
    NotificationState,
    Priority,
)
from groundcontrol.planning.plan import Plan

# Given the event, what the case knew before and the customer (after the inline
# upsert), decide what to do. Pure; called inside the recording transaction.
Planner = Callable[[Event, CaseState | None, Customer], Plan]


class IngestStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # same (source, id), same body: the first result again
    CONFLICT = "conflict"  # same (source, id), other body: 409
    UNKNOWN_CUSTOMER = "unknown_customer"  # {"id": ...} only, and no such customer: 422


@dataclass(frozen=True)
class IngestResult:
    status: IngestStatus
    event_id: str  # the source's id, echoed
    outcome: str = ""  # routing.Outcome value of the first recording
    notification_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    """A notification claimed for sending, with everything needed to render it."""

    notification_id: str
    lease_version: int  # fencing token: finishing with an older one is refused
    attempt: int  # the attempt number now in flight (1-based)
    kind: NotificationKind
    template: str
    status: str  # the case status this notification was planned for
    channel: ChannelName
    priority: Priority
    message_key: str
    case: CaseState  # the case as it is now: rendered with the latest data
    customer: Customer
    event: Mapping[str, Any]  # the latest event's public body (template context)
    tried_channels: tuple[ChannelName, ...]  # channels this story already failed on
    due_at: datetime
    created_at: datetime


class DecisionKind(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # transient: pending again at `at`
    DEFER = "defer"  # not attempted (quiet hours, cap): pending again at `at`, attempt not counted
    FAIL = "fail"  # permanent or exhausted: failed + fallback, or dead when none is left
    SUPERSEDE = "supersede"  # found stale at send time (case moved on)
    CANCEL = "cancel"  # found unsendable at send time (opted out meanwhile)


@dataclass(frozen=True)
class Decision:
    """What became of one claimed attempt; the store applies it in one transaction."""

    kind: DecisionKind
    detail: str = ""
    at: datetime | None = None  # RETRY / DEFER: next due time
    provider_id: str | None = None  # SENT
    segments: int | None = None  # SENT (sms)
    fallback_channel: ChannelName | None = None  # FAIL: next channel, if any
    opt_out: bool = False  # FAIL: the provider says the customer opted out of this channel
    disable_address: bool = False  # FAIL: the address is gone (webhook 410)
    outcome_unknown: bool = False  # RETRY: the provider may have sent it (possible duplicate)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    case_id: str
    notification_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def public_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "notification_id": self.notification_id,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class AttemptView:
    number: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str  # in_flight | sent | transient | permanent | deferred | fenced
    detail: str
    provider_id: str | None


@dataclass(frozen=True)
class NotificationView:
    id: str
    case_id: str
    customer_id: str
    kind: NotificationKind
    template: str
    status: str
    channel: ChannelName
    state: NotificationState
    priority: Priority
    attempts: int
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    message_key: str
    previous_id: str | None
    provider_id: str | None
    segments: int | None
    last_error: str | None
    attempt_log: tuple[AttemptView, ...] = ()

    def public_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case_id": self.case_id,
            "customer_id": self.customer_id,
            "kind": self.kind.value,
            "template": self.template,
            "status": self.status,
            "channel": self.channel,
            "state": self.state.value,
            "priority": self.priority.label,
            "attempts": self.attempts,
            "due_at": self.due_at.isoformat(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "message_key": self.message_key,
            "previous_id": self.previous_id,
            "provider_id": self.provider_id,
            "segments": self.segments,
            "last_error": self.last_error,
            "attempt_log": [
                {
                    "number": a.number,
                    "started_at": a.started_at.isoformat(),
                    "finished_at": a.finished_at.isoformat() if a.finished_at else None,
                    "outcome": a.outcome,
                    "detail": a.detail,
                    "provider_id": a.provider_id,
                }
                for a in self.attempt_log
            ],
        }


@dataclass(frozen=True)
class NotificationFilter:
    state: NotificationState | None = None
    channel: ChannelName | None = None
    case_id: str | None = None
    limit: int = 100


class Store(Protocol):
    """Every method is one transaction (or one per item, for batches)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the store cannot answer (for /readyz)."""

    # --- ingest -------------------------------------------------------------
    async def record_events(
        self, events: Sequence[Event], planner: Planner, now: datetime
    ) -> list[IngestResult]:
        """Record a batch of events in one commit (group commit: one fsync for a burst).

        For each event, idempotently: upsert the inline customer, plan against the case
        as it was, update the case, supersede stale pending notifications, cancel the
        case's pending follow-ups, insert the planned notifications and follow-up, and
        append the timeline. One bad event never spoils the others in the batch."""

    # --- customers ------------------------------------------------------------
    async def put_customer(self, customer: Customer, now: datetime) -> None: ...

    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def find_customer_by_phone(self, phone: str) -> list[Customer]: ...

    async def set_opt_out(
        self, customer_id: str, channel: ChannelName, opted_out: bool, reason: str, now: datetime
    ) -> int:
        """Opt a customer out of (or back into) a channel. Opting out cancels that
        channel's pending notifications; returns how many were cancelled."""

    # --- the case page ------------------------------------------------------------------
    async def get_case(self, case_id: str) -> CaseState | None: ...

    async def record_view(self, case_id: str, now: datetime) -> bool:
        """The customer opened the case page: timeline `viewed`, a contact (the golden
        thread). False for an unknown case."""

    async def set_preferences(
        self,
        customer_id: str,
        channel_order: Sequence[ChannelName],
        quiet_hours: bool,
        now: datetime,
    ) -> bool:
        """Store the customer's own channel order and quiet-hours choice, on the timeline
        of each of their cases (`preferences_changed`). Opt-outs are `set_opt_out`'s.
        False for an unknown customer."""

    # --- time -------------------------------------------------------------------
    async def fire_due_follow_ups(self, now: datetime, limit: int) -> int:
        """Turn due follow-ups into pending notifications and schedule their next
        repetition; returns how many fired."""

    async def next_due_at(self) -> datetime | None:
        """The earliest time anything (notification or follow-up) becomes due."""

    # --- dispatch ---------------------------------------------------------------
    async def claim_due(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[Claim]:
        """Claim up to `limit` due notifications (pending and due, or sending with an
        expired lease), most urgent first then oldest; mark them sending, bump their
        lease version and record the attempt as in flight, in one transaction."""

    async def finish(self, results: Sequence[tuple[Claim, Decision]], now: datetime) -> list[bool]:
        """Apply decisions (one commit for the batch). False where the claim's lease
        version is no longer current: a newer attempt owns the row, nothing is written."""

    async def recent_sends(self, customer_id: str, since: datetime) -> list[datetime]:
        """When this customer's messages were sent since `since` (frequency caps)."""

    async def release(self, claims: Sequence[Claim], now: datetime) -> None:
        """Give claims back unattempted (shutdown): pending again, attempt not counted."""

    # --- callbacks ---------------------------------------------------------------
    async def record_provider_status(
        self, provider_id: str, state: NotificationState, detail: str, now: datetime
    ) -> bool:
        """A provider callback (sent/delivered/undelivered). States never move backwards.
        Returns False for an unknown provider id or a late callback that changes nothing."""

    # --- read side ---------------------------------------------------------------
    async def timeline(self, case_id: str) -> list[TimelineEntry] | None: ...

    async def get_notification(self, notification_id: str) -> NotificationView | None: ...

    async def list_notifications(self, where: NotificationFilter) -> list[NotificationView]: ...

    async def redrive(self, notification_id: str, now: datetime) -> bool:
        """A dead (or failed) notification becomes pending again with fresh attempts."""

    async def state_counts(self) -> dict[str, int]:
        """How many notifications are in each state (for metrics)."""
