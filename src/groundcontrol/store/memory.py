"""The store contract in memory: for unit tests of planning and dispatch, no database.

It means exactly what the SQL store means (tests/contract runs the same suite on it);
only durability is missing. Every method runs without awaiting, so on one event loop
each is atomic; a write that raises halfway is rolled back from a snapshot, as a
database transaction would be.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from groundcontrol.domain import (
    CaseState,
    ChannelName,
    Customer,
    Event,
    NotificationKind,
    NotificationState,
    Priority,
)
from groundcontrol.planning.plan import Outcome, Plan, PlannedNotification, next_channel
from groundcontrol.store.contract import (
    AttemptView,
    Claim,
    Decision,
    DecisionKind,
    IngestResult,
    IngestStatus,
    NotificationFilter,
    NotificationView,
    Planner,
    TimelineEntry,
)
from groundcontrol.store.sql.recording import new_notification_id, public_event
from groundcontrol.store.transitions import (
    ATTEMPT_OUTCOME,
    NOT_ATTEMPTED,
    Entry,
    decision_changes,
    event_entries,
    fallback,
    fallback_entry,
    forgotten_entry,
    outcome_entry,
)

PENDING = NotificationState.PENDING
SENDING = NotificationState.SENDING
_SUPERSEDABLE = (NotificationKind.STATUS, NotificationKind.FOLLOW_UP)
_REDRIVABLE = (NotificationState.DEAD, NotificationState.FAILED)


class StoreClosed(RuntimeError):
    """The memory store was closed."""


@dataclass
class _Event:
    body_hash: str
    payload: dict[str, Any]
    outcome: str = "recording"
    notification_ids: tuple[str, ...] = ()


@dataclass
class _Case:
    state: CaseState
    event_payload: dict[str, Any] | None = None


@dataclass
class _Attempt:
    number: int
    lease_version: int
    owner: str
    started_at: datetime
    outcome: str = "in_flight"
    detail: str = ""
    finished_at: datetime | None = None
    provider_id: str | None = None


@dataclass(slots=True)  # slots: `_apply_decision` sets fields by name
class _Notification:
    id: str
    case_id: str
    customer_id: str
    kind: NotificationKind
    template: str
    status: str
    channel: ChannelName
    priority: Priority
    due_at: datetime
    message_key: str
    created_at: datetime
    updated_at: datetime
    state: NotificationState = PENDING
    attempts: int = 0
    lease_version: int = 0
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    previous_id: str | None = None
    tried_channels: tuple[ChannelName, ...] = ()
    provider_id: str | None = None
    segments: int | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    log: list[_Attempt] = field(default_factory=list)

    def is_due(self, now: datetime) -> bool:
        """Pending and due, or in flight under a lease that has expired (a lost worker)."""
        if self.state is PENDING:
            return self.due_at <= now
        expires = self.lease_expires_at
        return self.state is SENDING and expires is not None and expires < now

    def attempt(self, lease_version: int) -> _Attempt | None:
        return next((a for a in self.log if a.lease_version == lease_version), None)

    def view(self, with_log: bool) -> NotificationView:
        log = tuple(_attempt_view(a) for a in self.log) if with_log else ()
        return NotificationView(
            id=self.id,
            case_id=self.case_id,
            customer_id=self.customer_id,
            kind=self.kind,
            template=self.template,
            status=self.status,
            channel=self.channel,
            state=self.state,
            priority=self.priority,
            attempts=self.attempts,
            due_at=self.due_at,
            created_at=self.created_at,
            updated_at=self.updated_at,
            message_key=self.message_key,
            previous_id=self.previous_id,
            provider_id=self.provider_id,
            segments=self.segments,
            last_error=self.last_error,
            attempt_log=log,
        )


@dataclass
class _FollowUp:
    id: int
    case_id: str
    customer_id: str
    status: str
    template: str
    priority: Priority
    due_at: datetime
    every: timedelta | None
    max_count: int
    fired: int = 0
    state: str = "pending"


@dataclass
class _Tables:
    customers: dict[str, Customer] = field(default_factory=dict)
    events: dict[tuple[str, str], _Event] = field(default_factory=dict)
    cases: dict[str, _Case] = field(default_factory=dict)
    notifications: dict[str, _Notification] = field(default_factory=dict)
    follow_ups: dict[int, _FollowUp] = field(default_factory=dict)
    timeline: dict[str, list[TimelineEntry]] = field(default_factory=dict)

    def add_timeline(self, case_id: str, at: datetime, entries: Sequence[Entry]) -> None:
        rows = self.timeline.setdefault(case_id, [])
        rows += [TimelineEntry(at, kind, case_id, nid, detail) for kind, nid, detail in entries]

    def case_notifications(self, case_id: str, state: NotificationState) -> list[_Notification]:
        return [n for n in self.notifications.values() if n.case_id == case_id and n.state is state]

    def pending_follow_ups(self, case_id: str) -> list[_FollowUp]:
        return [
            f for f in self.follow_ups.values() if f.case_id == case_id and f.state == "pending"
        ]

    def insert_notification(
        self,
        planned: PlannedNotification,
        *,
        case_id: str,
        customer_id: str,
        note: str,
        now: datetime,
        previous_id: str | None = None,
        tried: Sequence[ChannelName] = (),
        ids: tuple[str, str] | None = None,
        lead: Sequence[Entry] = (),
    ) -> str:
        """Insert a pending notification; `lead` entries go on the timeline just before
        its "planned" entry (they may name it: pass its `ids` from new_notification_id)."""
        notification_id, message_key = ids or new_notification_id()
        self.notifications[notification_id] = _Notification(
            id=notification_id,
            case_id=case_id,
            customer_id=customer_id,
            kind=planned.kind,
            template=planned.template,
            status=planned.status,
            channel=planned.channel,
            priority=planned.priority,
            due_at=planned.due_at,
            message_key=message_key,
            created_at=now,
            updated_at=now,
            previous_id=previous_id,
            tried_channels=tuple(tried),
        )
        detail = {
            "kind": planned.kind.value,
            "channel": planned.channel,
            "template": planned.template,
            "due_at": planned.due_at.isoformat(),
            "note": note,
        }
        self.add_timeline(case_id, now, [*lead, ("planned", notification_id, detail)])
        return notification_id


class MemoryStore:
    """A `Store` held in dictionaries; `memory://` in `create_store`."""

    def __init__(self) -> None:
        self._tables = _Tables()
        self._next_follow_up_id = 1
        self._closed = False

    # --- lifecycle --------------------------------------------------------------------
    async def open(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True

    async def ping(self) -> None:
        if self._closed:
            raise StoreClosed("the memory store is closed")

    @contextmanager
    def _transaction(self) -> Iterator[_Tables]:
        """All or nothing, like a database transaction: undo everything on error."""
        snapshot = copy.deepcopy(self._tables)
        try:
            yield self._tables
        except BaseException:
            self._tables = snapshot
            raise

    # --- ingest -------------------------------------------------------------------------
    async def record_events(
        self, events: Sequence[Event], planner: Planner, now: datetime
    ) -> list[IngestResult]:
        with self._transaction():
            return [self._record_event(event, planner, now) for event in events]

    async def record_events_each(
        self, groups: Sequence[Sequence[Event]], planner: Planner, now: datetime
    ) -> list[list[IngestResult] | Exception]:
        outcomes: list[list[IngestResult] | Exception] = []
        for events in groups:
            try:
                outcomes.append(await self.record_events(events, planner, now))
            except Exception as exc:  # this group's snapshot is restored; the others stand
                outcomes.append(exc)
        return outcomes

    def _record_event(self, event: Event, planner: Planner, now: datetime) -> IngestResult:
        existing = self._tables.events.get((event.source, event.id))
        if existing is not None:
            return _repeat(existing, event)
        customer = self._resolve_customer(event)
        if customer is None:
            return IngestResult(IngestStatus.UNKNOWN_CUSTOMER, event.id)
        recorded = _Event(body_hash=event.body_hash, payload=public_event(event))
        self._tables.events[(event.source, event.id)] = recorded
        before = self._case_before(event, customer, now)
        plan = planner(event, before, customer)
        ids = self._apply(event, recorded, before, customer, plan, now)
        recorded.outcome, recorded.notification_ids = plan.outcome.value, ids
        return IngestResult(IngestStatus.ACCEPTED, event.id, plan.outcome.value, ids)

    def _resolve_customer(self, event: Event) -> Customer | None:
        current = self._tables.customers.get(event.customer.id)
        if not event.customer.fields:
            return current
        customer = event.customer.apply(current)
        self._tables.customers[customer.id] = customer
        return customer

    def _case_before(self, event: Event, customer: Customer, now: datetime) -> CaseState | None:
        """The case as it was before this event; a new case is created from the event."""
        existing = self._tables.cases.get(event.case_id)
        if existing is not None:
            return existing.state
        self._tables.cases[event.case_id] = _Case(
            CaseState(
                id=event.case_id,
                customer_id=customer.id,
                status=event.status,
                previous_status=None,
                status_at=event.occurred_at,
                sequence=event.sequence,
                priority=event.priority if event.priority is not None else Priority.NORMAL,
                data=dict(event.data),
            )
        )
        return None

    def _apply(
        self,
        event: Event,
        recorded: _Event,
        before: CaseState | None,
        customer: Customer,
        plan: Plan,
        now: datetime,
    ) -> tuple[str, ...]:
        self._timeline_event(event, plan, now)
        if plan.outcome is Outcome.STALE:
            return ()
        self._update_case(event, recorded, before, customer, plan)
        if plan.supersede_pending:
            self._supersede_pending(event.case_id, f"newer status {event.status!r}", now)
        else:
            self._raise_priority(event.case_id, plan.priority)
        ids = tuple(
            self._tables.insert_notification(
                p, case_id=event.case_id, customer_id=customer.id, note=p.note, now=now
            )
            for p in plan.notifications
        )
        if plan.follow_up is not None:
            self._insert_follow_up(event, customer, plan, now)
        return ids

    def _timeline_event(self, event: Event, plan: Plan, now: datetime) -> None:
        self._tables.add_timeline(event.case_id, now, event_entries(event, plan))

    def _update_case(
        self,
        event: Event,
        recorded: _Event,
        before: CaseState | None,
        customer: Customer,
        plan: Plan,
    ) -> None:
        case = self._tables.cases[event.case_id]
        changes: dict[str, Any] = {
            "customer_id": customer.id,
            "status_at": event.occurred_at,
            "priority": plan.priority,
            "data": {**(before.data if before else {}), **event.data},
        }
        if event.sequence is not None:
            changes["sequence"] = event.sequence
        if before is not None and before.status != event.status:
            changes |= {"status": event.status, "previous_status": before.status}
        case.state = replace(case.state, **changes)
        case.event_payload = recorded.payload

    def _supersede_pending(self, case_id: str, why: str, now: datetime) -> None:
        """Newest state wins: drop the case's unsent messages and pending follow-ups."""
        entries: list[Entry] = []
        for n in self._tables.case_notifications(case_id, PENDING):
            if n.kind in _SUPERSEDABLE:
                n.state, n.updated_at = NotificationState.SUPERSEDED, now
                entries.append(("superseded", n.id, {"reason": why}))
        for f in self._tables.pending_follow_ups(case_id):
            f.state = "cancelled"
            detail = {"follow_up_id": f.id, "template": f.template, "reason": why}
            entries.append(("follow_up_cancelled", None, detail))
        self._tables.add_timeline(case_id, now, entries)

    def _raise_priority(self, case_id: str, priority: Priority) -> None:
        for n in self._tables.case_notifications(case_id, PENDING):
            n.priority = min(n.priority, priority)
        for f in self._tables.pending_follow_ups(case_id):
            f.priority = min(f.priority, priority)

    def _insert_follow_up(
        self, event: Event, customer: Customer, plan: Plan, now: datetime
    ) -> None:
        planned = plan.follow_up
        assert planned is not None
        follow_up = _FollowUp(
            id=self._next_follow_up_id,
            case_id=event.case_id,
            customer_id=customer.id,
            status=event.status,
            template=planned.template,
            priority=plan.priority,
            due_at=planned.due_at,
            every=planned.every,
            max_count=planned.max,
        )
        self._next_follow_up_id += 1
        self._tables.follow_ups[follow_up.id] = follow_up
        detail = {
            "follow_up_id": follow_up.id,
            "template": planned.template,
            "due_at": planned.due_at.isoformat(),
            "every_seconds": planned.every.total_seconds() if planned.every else None,
            "max": planned.max,
        }
        self._tables.add_timeline(event.case_id, now, [("follow_up_scheduled", None, detail)])

    # --- customers ----------------------------------------------------------------------
    async def put_customer(self, customer: Customer, now: datetime) -> None:
        self._tables.customers[customer.id] = customer

    async def get_customer(self, customer_id: str) -> Customer | None:
        return self._tables.customers.get(customer_id)

    async def find_customer_by_phone(self, phone: str) -> list[Customer]:
        return [c for c in self._tables.customers.values() if c.phone == phone]

    async def set_opt_out(
        self, customer_id: str, channel: ChannelName, opted_out: bool, reason: str, now: datetime
    ) -> int:
        customer = self._tables.customers.get(customer_id)
        if customer is None:
            return 0
        chosen = customer.opted_out | {channel} if opted_out else customer.opted_out - {channel}
        self._tables.customers[customer_id] = replace(customer, opted_out=chosen)
        kind = "opted_out" if opted_out else "opted_in"
        for case in self._tables.cases.values():
            if case.state.customer_id == customer_id:
                note: Entry = (kind, None, {"channel": channel, "reason": reason})
                self._tables.add_timeline(case.state.id, now, [note])
        return self._cancel_channel(customer_id, channel, now) if opted_out else 0

    def _cancel_channel(self, customer_id: str, channel: ChannelName, now: datetime) -> int:
        cancelled = [
            n
            for n in self._tables.notifications.values()
            if (n.customer_id, n.channel, n.state) == (customer_id, channel, PENDING)
        ]
        for n in cancelled:
            n.state, n.updated_at = NotificationState.CANCELLED, now
            why = {"reason": f"customer opted out of {channel}"}
            self._tables.add_timeline(n.case_id, now, [("cancelled", n.id, why)])
        return len(cancelled)

    # --- time -----------------------------------------------------------------------------
    async def fire_due_follow_ups(self, now: datetime, limit: int) -> int:
        due = sorted(
            (
                f
                for f in self._tables.follow_ups.values()
                if f.state == "pending" and f.due_at <= now
            ),
            key=lambda f: f.due_at,
        )[:limit]
        with self._transaction():
            for follow_up in due:
                self._fire(follow_up, now)
        return len(due)

    def _fire(self, follow_up: _FollowUp, now: datetime) -> None:
        follow_up.fired += 1
        detail = {
            "follow_up_id": follow_up.id,
            "template": follow_up.template,
            "repeat": follow_up.fired,
        }
        waiting = self._unsent_message(follow_up.case_id)
        if waiting is None:
            self._notify(follow_up, detail, now)
        else:
            # The customer is about to hear from us anyway (deferred by quiet hours or
            # the cap): a "still working" on top of it would be noise.
            skipped = detail | {"reason": "an earlier message of the case has not gone out yet"}
            self._tables.add_timeline(
                follow_up.case_id, now, [("follow_up_skipped", waiting, skipped)]
            )
        _reschedule(follow_up, now)

    def _unsent_message(self, case_id: str) -> str | None:
        unsent = (
            n.id
            for n in self._tables.notifications.values()
            if n.case_id == case_id and n.state in (PENDING, SENDING) and n.kind in _SUPERSEDABLE
        )
        return next(unsent, None)

    def _notify(self, follow_up: _FollowUp, detail: dict[str, Any], now: datetime) -> None:
        channel = next_channel(self._tables.customers[follow_up.customer_id], tried=())
        if channel is None:
            unreachable = detail | {"reason": "no usable channel"}
            self._tables.add_timeline(follow_up.case_id, now, [("unreachable", None, unreachable)])
        else:
            self._plan_follow_up_message(follow_up, channel, detail, now)

    def _plan_follow_up_message(
        self, follow_up: _FollowUp, channel: ChannelName, detail: dict[str, Any], now: datetime
    ) -> None:
        planned = PlannedNotification(
            kind=NotificationKind.FOLLOW_UP,
            template=follow_up.template,
            status=follow_up.status,
            channel=channel,
            priority=follow_up.priority,
            due_at=now,
        )
        ids = new_notification_id()
        self._tables.insert_notification(
            planned,
            case_id=follow_up.case_id,
            customer_id=follow_up.customer_id,
            note="follow-up",
            now=now,
            ids=ids,
            lead=[("follow_up_fired", ids[0], detail)],
        )

    async def next_due_at(self) -> datetime | None:
        tables = self._tables
        times = [n.due_at for n in tables.notifications.values() if n.state is PENDING]
        times += [f.due_at for f in tables.follow_ups.values() if f.state == "pending"]
        times += [
            n.lease_expires_at
            for n in tables.notifications.values()
            if n.state is SENDING and n.lease_expires_at is not None
        ]
        return min(times, default=None)

    # --- dispatch ---------------------------------------------------------------------------
    async def claim_due(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[Claim]:
        due = [n for n in self._tables.notifications.values() if n.is_due(now)]
        picked = sorted(due, key=lambda n: (n.priority, n.due_at))[:limit]
        for n in picked:
            _take_lease(n, now, owner, lease)
        return [self._claim(n) for n in picked]

    def _claim(self, n: _Notification) -> Claim:
        case = self._tables.cases[n.case_id]
        return Claim(
            notification_id=n.id,
            lease_version=n.lease_version,
            attempt=n.attempts,
            kind=n.kind,
            template=n.template,
            status=n.status,
            channel=n.channel,
            priority=n.priority,
            message_key=n.message_key,
            case=replace(case.state, data=copy.deepcopy(dict(case.state.data))),
            customer=self._tables.customers[n.customer_id],
            event=copy.deepcopy(case.event_payload or {}),
            tried_channels=n.tried_channels,
            due_at=n.due_at,
            created_at=n.created_at,
        )

    async def finish(self, results: Sequence[tuple[Claim, Decision]], now: datetime) -> list[bool]:
        with self._transaction():
            return [self._finish_one(claim, decision, now) for claim, decision in results]

    def _finish_one(self, claim: Claim, decision: Decision, now: datetime) -> bool:
        """Apply one decision, fenced by the claim's lease version. False: refused."""
        n = self._tables.notifications.get(claim.notification_id)
        if n is None:
            return False
        if n.lease_version != claim.lease_version or n.state is not SENDING:
            _mark_attempt(n, claim, "fenced", "late result refused: lease lost", None, now)
            return False
        _apply_decision(n, decision, now)
        _mark_attempt(
            n, claim, ATTEMPT_OUTCOME[decision.kind], decision.detail, decision.provider_id, now
        )
        self._tables.add_timeline(claim.case.id, now, self._consequences(claim, decision, now))
        return True

    def _consequences(self, claim: Claim, decision: Decision, now: datetime) -> list[Entry]:
        if decision.kind is DecisionKind.SENT:
            case = self._tables.cases[claim.case.id]
            case.state = replace(case.state, last_message_at=now)
        if decision.kind is DecisionKind.FAIL:
            return self._fail(claim, decision, now)
        return [outcome_entry(claim, decision)]

    def _fail(self, claim: Claim, decision: Decision, now: datetime) -> list[Entry]:
        entries: list[Entry] = []
        if decision.opt_out or decision.disable_address:
            entries.append(self._forget_channel(claim, decision))
        entries.append(outcome_entry(claim, decision))
        channel = decision.fallback_channel
        if channel is None:
            return entries
        ids = new_notification_id()
        self._tables.insert_notification(
            fallback(claim, channel, now),
            case_id=claim.case.id,
            customer_id=claim.customer.id,
            note=f"fallback from {claim.channel}",
            now=now,
            previous_id=claim.notification_id,
            tried=[*claim.tried_channels, claim.channel],
            ids=ids,
            lead=[*entries, fallback_entry(claim, channel, ids[0])],
        )
        return []

    def _forget_channel(self, claim: Claim, decision: Decision) -> Entry:
        """The provider says this address is unusable: remember it on the customer."""
        current = self._tables.customers.get(claim.customer.id, claim.customer)
        if decision.opt_out:
            current = replace(current, opted_out=current.opted_out | {claim.channel})
        if decision.disable_address and claim.channel == "chat":
            current = replace(current, chat_webhook=None)
        self._tables.customers[current.id] = current
        return forgotten_entry(claim, decision)

    async def release(self, claims: Sequence[Claim], now: datetime) -> None:
        for claim in claims:
            n = self._tables.notifications.get(claim.notification_id)
            if n is None or n.lease_version != claim.lease_version or n.state is not SENDING:
                continue
            n.state, n.lease_owner, n.lease_expires_at = PENDING, None, None
            n.attempts -= 1
            n.updated_at = now
            _mark_attempt(n, claim, "released", "shutdown before sending", None, now)

    async def recent_sends(self, customer_id: str, since: datetime) -> list[datetime]:
        """When this customer's messages were sent since `since` (for frequency caps)."""
        return [
            n.sent_at
            for n in self._tables.notifications.values()
            if n.customer_id == customer_id and n.sent_at is not None and n.sent_at >= since
        ]

    # --- callbacks ---------------------------------------------------------------------------
    async def record_provider_status(
        self, provider_id: str, state: NotificationState, detail: str, now: datetime
    ) -> bool:
        if state not in (NotificationState.DELIVERED, NotificationState.UNDELIVERED):
            return False  # "sent" and friends: we knew that when the provider accepted it
        n = next(
            (
                n
                for n in self._tables.notifications.values()
                if n.provider_id == provider_id and n.state is NotificationState.SENT
            ),
            None,
        )
        if n is None:
            return False
        n.state, n.updated_at, n.last_error = state, now, detail or None
        report = {"channel": n.channel, "provider_id": provider_id, "detail": detail}
        self._tables.add_timeline(n.case_id, now, [(state.value, n.id, report)])
        if state is NotificationState.UNDELIVERED:
            self._fall_back(n, now)
        return True

    def _fall_back(self, n: _Notification, now: datetime) -> None:
        customer = self._tables.customers.get(n.customer_id)
        tried = [*n.tried_channels, n.channel]
        channel = next_channel(customer, tried) if customer else None
        if channel is None:
            reason = {"reason": "undelivered and no other channel left"}
            self._tables.add_timeline(n.case_id, now, [("unreachable", n.id, reason)])
            return
        planned = PlannedNotification(
            kind=n.kind,
            template=n.template,
            status=n.status,
            channel=channel,
            priority=n.priority,
            due_at=now,
        )
        ids = new_notification_id()
        hand_over = {"from": n.channel, "to": channel, "next": ids[0]}
        self._tables.insert_notification(
            planned,
            case_id=n.case_id,
            customer_id=n.customer_id,
            note="fallback: undelivered",
            now=now,
            previous_id=n.id,
            tried=tried,
            ids=ids,
            lead=[("fallback", n.id, hand_over)],
        )

    # --- read side ---------------------------------------------------------------------------
    async def timeline(self, case_id: str) -> list[TimelineEntry] | None:
        if case_id not in self._tables.cases:
            return None
        return list(self._tables.timeline.get(case_id, []))

    async def get_notification(self, notification_id: str) -> NotificationView | None:
        n = self._tables.notifications.get(notification_id)
        return n.view(with_log=True) if n else None

    async def list_notifications(self, where: NotificationFilter) -> list[NotificationView]:
        chosen = [
            n
            for n in reversed(self._tables.notifications.values())
            if (where.state is None or n.state is where.state)
            and (where.channel is None or n.channel == where.channel)
            and (where.case_id is None or n.case_id == where.case_id)
        ]
        chosen.sort(key=lambda n: n.updated_at, reverse=True)
        return [n.view(with_log=False) for n in chosen[: where.limit]]

    async def redrive(self, notification_id: str, now: datetime) -> bool:
        n = self._tables.notifications.get(notification_id)
        if n is None or n.state not in _REDRIVABLE:
            return False
        n.state, n.due_at, n.attempts, n.updated_at = PENDING, now, 0, now
        detail: dict[str, Any] = {"previous_error": n.last_error}
        self._tables.add_timeline(n.case_id, now, [("redriven", notification_id, detail)])
        return True

    async def state_counts(self) -> dict[str, int]:
        return dict(Counter(n.state.value for n in self._tables.notifications.values()))


def _repeat(existing: _Event, event: Event) -> IngestResult:
    if existing.body_hash != event.body_hash:
        return IngestResult(IngestStatus.CONFLICT, event.id)
    return IngestResult(
        IngestStatus.DUPLICATE, event.id, existing.outcome, existing.notification_ids
    )


def _reschedule(follow_up: _FollowUp, now: datetime) -> None:
    every = follow_up.every
    if every is None or follow_up.fired >= follow_up.max_count:
        follow_up.state = "done"
        return
    # Keep the cadence; after a long outage, one catch-up rather than a burst.
    next_due = follow_up.due_at + every
    follow_up.due_at = next_due if next_due > now else now + every


def _take_lease(n: _Notification, now: datetime, owner: str, lease: timedelta) -> None:
    if n.state is SENDING:  # the previous worker's lease expired: it was lost
        for attempt in n.log:
            if attempt.outcome == "in_flight":
                attempt.outcome, attempt.finished_at = "lease_expired", now
                attempt.detail = "lease expired: worker lost"
    n.state, n.lease_owner, n.lease_expires_at = SENDING, owner, now + lease
    n.lease_version += 1
    n.attempts += 1
    n.updated_at = now
    n.log.append(_Attempt(n.attempts, n.lease_version, owner, started_at=now))


def _apply_decision(n: _Notification, decision: Decision, now: datetime) -> None:
    for name, value in decision_changes(decision, now).items():
        setattr(n, name, value)
    if decision.kind in NOT_ATTEMPTED:
        n.attempts -= 1


def _mark_attempt(
    n: _Notification,
    claim: Claim,
    outcome: str,
    detail: str,
    provider_id: str | None,
    now: datetime,
) -> None:
    attempt = n.attempt(claim.lease_version)
    if attempt is not None:
        attempt.outcome, attempt.detail, attempt.finished_at = outcome, detail, now
        attempt.provider_id = provider_id


def _attempt_view(attempt: _Attempt) -> AttemptView:
    return AttemptView(
        number=attempt.number,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        outcome=attempt.outcome,
        detail=attempt.detail,
        provider_id=attempt.provider_id,
    )
