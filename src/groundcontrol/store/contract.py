"""The store contract, at the level of domain operations.

SQLite and PostgreSQL differ in SQL, not in meaning: every engine implements this
protocol and passes the same contract suite (tests/contract/).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
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

# Re-exported: the values the contract speaks in live in domain.py and planning/plan.py.
from groundcontrol.domain import Claim as Claim
from groundcontrol.domain import Decision as Decision
from groundcontrol.domain import DecisionKind as DecisionKind
from groundcontrol.domain import IngestResult as IngestResult
from groundcontrol.domain import IngestStatus as IngestStatus
from groundcontrol.planning.callbacks import NONE, CallbackRoutes
from groundcontrol.planning.golden_thread import Contact
from groundcontrol.planning.plan import Planner as Planner
from groundcontrol.planning.promises import QuietWindow
from groundcontrol.store.callback_views import (
    CallbackClaim,
    CallbackFilter,
    CallbackOutcome,
    CallbackPage,
    CallbackView,
)
from groundcontrol.store.case_views import (
    Breach,
    CaseFilter,
    CasePage,
    CaseView,
    GoldenThreadSummary,
)
from groundcontrol.store.memory_templates import MemoryTemplates
from groundcontrol.store.templates import TemplateStore


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
    attempts: int  # provider calls made or in flight: len(attempt_log), deferrals not counted
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


@dataclass(frozen=True)
class RetentionReport:
    """How many rows of each kind one retention sweep deleted."""

    notifications: int = 0
    attempts: int = 0
    follow_ups: int = 0
    timeline: int = 0
    events: int = 0
    callbacks: int = 0
    breaches: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


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

    async def record_events_each(
        self, groups: Sequence[Sequence[Event]], planner: Planner, now: datetime
    ) -> list[list[IngestResult] | Exception]:
        """Record each group as `record_events` would, all in one commit: a group that
        fails is rolled back alone (savepoints, bisecting the groups) and its error
        returned in its place. The group commit calls this when a batch fails, so a
        poison event costs its sender a retry, not everyone a commit each."""

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
    async def get_case_state(self, case_id: str) -> CaseState | None:
        """The case as planning sees it (status, when, data): the case page reads it."""

    async def set_preferences(
        self,
        customer_id: str,
        channel_order: Sequence[ChannelName],
        quiet_hours: bool,
        now: datetime,
    ) -> bool:
        """Store the customer's own channel order and quiet-hours choice, on the timeline
        of each of their cases (`preferences_changed`); quiet hours off also releases
        what they held for this customer. Opt-outs are `set_opt_out`'s. False for an
        unknown customer."""

    # --- time -------------------------------------------------------------------
    async def fire_due_follow_ups(
        self, now: datetime, limit: int, quiet: QuietWindow | None = None
    ) -> int:
        """Turn due follow-ups into pending notifications and schedule their next
        repetition, moved earlier where `quiet` hours would hold it past the case's
        promise (planning/followups.py); returns how many fired."""

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

    async def send_now(self, notification_id: str, now: datetime) -> bool:
        """A pending notification becomes due now and urgent (so quiet hours and the cap
        let it through), on the timeline as `released`. False when it is not pending."""

    async def release_quiet_deferrals(self, now: datetime, customer_id: str | None = None) -> int:
        """Pending notifications held by quiet hours become due now (`released` on the
        timeline): called at start when quiet hours are off, and for one customer when
        they turn them off on the case page. Returns how many."""

    async def state_counts(self) -> dict[str, int]:
        """How many notifications are in each state (for metrics)."""

    # --- the golden thread (planning/golden_thread.py) ------------------------------------
    async def record_contact(self, case_id: str, contact: Contact) -> bool:
        """A contact that is no sent message (the customer viewed the case page): ends the
        case's dark stretch. False for an unknown case or an older contact."""

    async def fire_due_breaches(self, now: datetime, limit: int) -> list[Breach]:
        """Record the breach of every open case whose promise broke by `now`: once per
        dark stretch (timeline `promise_breached`), even with several instances."""

    async def thread_counts(self, now: datetime) -> tuple[int, int]:
        """How many cases are open, and how many of them breached, now (for metrics)."""

    async def delivery_counts(self) -> dict[tuple[str, str], int]:
        """Notifications by (channel, state): the dashboard's deliveries by outcome."""

    async def statuses_without_rule(self, limit: int) -> list[tuple[str, int]]:
        """Statuses events arrived with that no journey rule answers, most frequent first."""

    async def get_case(self, case_id: str) -> CaseView | None: ...

    async def list_cases(self, where: CaseFilter, now: datetime) -> CasePage: ...

    async def golden_thread(self, now: datetime, window: timedelta) -> GoldenThreadSummary:
        """Open and breached cases, dark seconds p50/p95/max, by status and by source,
        and the breaches whose promise broke within `window` before `now`."""

    # --- callbacks to the source systems (planning/callbacks.py) ---------------------------
    def route_callbacks(self, routes: CallbackRoutes) -> None:
        """Which sources want which callbacks; the store plans them as it records."""

    async def claim_callbacks(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[CallbackClaim]:
        """Claim due callbacks (or ones whose lease expired) for posting."""

    async def finish_callback(
        self, claimed: CallbackClaim, outcome: CallbackOutcome, now: datetime
    ) -> bool:
        """Apply an attempt's outcome; False when the lease moved on (nothing written)."""

    async def list_callbacks(self, state: str | None, limit: int) -> list[CallbackView]:
        """The most recently changed callbacks (the dashboard's dead letters)."""

    async def page_callbacks(self, where: CallbackFilter) -> CallbackPage:
        """Callbacks newest first (by creation, then id), filtered, one keyset page."""

    async def get_callback(self, callback_id: str) -> CallbackView | None: ...

    async def redrive_callback(self, callback_id: str, now: datetime) -> bool:
        """A dead callback is pending again with fresh attempts."""

    # --- optional abilities: StoreBase gives each a default, engines override ---------
    async def listen(self, on_wake: Callable[[], None]) -> None:
        """Call `on_wake` whenever another instance makes something due (PostgreSQL
        LISTEN/NOTIFY). One process has no other instance to hear from."""

    def singleton(self, name: str) -> AbstractAsyncContextManager[bool]:
        """Hold `name` across instances for the block; yields False while another instance
        holds it (PostgreSQL advisory lock). One process is always alone: True."""
        ...

    async def purge(self, horizon: datetime) -> RetentionReport:
        """Delete finished history older than `horizon` (retention.days)."""

    def templates(self) -> TemplateStore:
        """Published template overrides, drafts and test sends (the studio's)."""
        ...


class StoreBase:
    """The optional abilities' defaults (saq style): a store in one process, with no
    other instance to hear from or to race, no history kept for a sweep, and template
    overrides kept in memory."""

    _templates: TemplateStore | None = None
    callback_routes: CallbackRoutes = NONE

    def route_callbacks(self, routes: CallbackRoutes) -> None:
        self.callback_routes = routes

    def templates(self) -> TemplateStore:
        if self._templates is None:
            self._templates = self._new_templates()
        return self._templates

    def _new_templates(self) -> TemplateStore:
        """Hook: the engine's template persistence (made once, on first use)."""
        return MemoryTemplates()

    async def listen(self, on_wake: Callable[[], None]) -> None:
        return None

    @asynccontextmanager
    async def singleton(self, name: str) -> AsyncIterator[bool]:
        yield True

    async def purge(self, horizon: datetime) -> RetentionReport:
        return RetentionReport()
