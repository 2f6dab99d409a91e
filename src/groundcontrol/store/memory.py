"""The store contract in memory, as a row store: for unit tests, simulations and demos.

Like procrastinate's in-memory connector, it fakes the lowest level only: the rules of
what an event, a due follow-up or a delivery report does live once, in `planning/`;
this module, like the SQL engines, just writes the rows those planners decide. Every
method runs without awaiting, so on one event loop each is atomic; a write that
raises halfway is rolled back from a snapshot, as a database transaction would be.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
from groundcontrol.planning import followups, golden_thread, reports
from groundcontrol.planning import status_callbacks as status
from groundcontrol.planning.callbacks import (
    CaseRef,
    entry_callbacks,
    failure_callbacks,
    unreachable_callbacks,
)
from groundcontrol.planning.events import BatchPlan, EventKey, SupersedeMark, plan_batch
from groundcontrol.planning.golden_thread import Contact, ContactKind
from groundcontrol.planning.plan import Planner
from groundcontrol.planning.promises import QuietWindow
from groundcontrol.planning.rows import CUSTOMER_FACING, Entry, StoredEvent
from groundcontrol.planning.transitions import (
    ATTEMPT_OUTCOME,
    NOT_ATTEMPTED,
    QUIET_HOURS_DETAIL,
    counts_as_attempt,
    decision_changes,
    failure,
    outcome_entry,
    preferences_entry,
)
from groundcontrol.store import memory_callbacks, memory_cases
from groundcontrol.store.callback_views import FINISHED as FINISHED_CALLBACKS
from groundcontrol.store.callback_views import (
    CallbackClaim,
    CallbackFilter,
    CallbackOutcome,
    CallbackPage,
    CallbackView,
    timeline_entry,
)
from groundcontrol.store.case_views import (
    Breach,
    CaseFilter,
    CasePage,
    CaseView,
    GoldenThreadSummary,
    breach_callbacks,
)
from groundcontrol.store.contract import (
    AttemptView,
    Claim,
    Decision,
    DecisionKind,
    IngestResult,
    NotificationFilter,
    NotificationView,
    RetentionReport,
    StoreBase,
    TimelineEntry,
)

PENDING = NotificationState.PENDING
SENDING = NotificationState.SENDING
_REDRIVABLE = (NotificationState.DEAD, NotificationState.FAILED)
RELEASED = "shutdown before sending"


class StoreClosed(RuntimeError):
    """The memory store was closed."""


@dataclass
class _Event:
    body_hash: str
    payload: dict[str, Any]
    outcome: str
    notification_ids: tuple[str, ...]


@dataclass
class _Case:
    state: CaseState
    event_payload: dict[str, Any]  # the latest event's public body (for claims)


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

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> _Notification:
        """A planner's new notification row (planning.rows.notification_row)."""
        return cls(
            id=row["id"],
            case_id=row["case_id"],
            customer_id=row["customer_id"],
            kind=NotificationKind(row["kind"]),
            template=row["template"],
            status=row["status"],
            channel=row["channel"],
            priority=Priority(row["priority"]),
            due_at=row["due_at"],
            message_key=row["message_key"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            state=NotificationState(row["state"]),
            previous_id=row["previous_id"],
            tried_channels=tuple(row["tried_channels"]),
        )

    def is_due(self, now: datetime) -> bool:
        """Pending and due, or in flight under a lease that has expired (a lost worker)."""
        if self.state is PENDING:
            return self.due_at <= now
        expires = self.lease_expires_at
        return self.state is SENDING and expires is not None and expires < now

    def attempt(self, lease_version: int) -> _Attempt | None:
        return next((a for a in self.log if a.lease_version == lease_version), None)

    def reported(self) -> reports.Reported:
        return reports.Reported(
            id=self.id,
            case_id=self.case_id,
            customer_id=self.customer_id,
            kind=self.kind,
            template=self.template,
            status=self.status,
            channel=self.channel,
            priority=self.priority,
            tried_channels=self.tried_channels,
        )

    def view(self, with_log: bool) -> NotificationView:
        attempted = (a for a in self.log if counts_as_attempt(a.outcome))
        log = tuple(_attempt_view(a) for a in attempted) if with_log else ()
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

    def due(self) -> followups.DueFollowUp:
        return followups.DueFollowUp(
            id=self.id,
            case_id=self.case_id,
            customer_id=self.customer_id,
            status=self.status,
            template=self.template,
            priority=self.priority,
            due_at=self.due_at,
            every=self.every,
            max_count=self.max_count,
            fired=self.fired,
        )


@dataclass
class _Tables:
    """The rows, and the row-level operations the engines share (insert, update where)."""

    customers: dict[str, Customer] = field(default_factory=dict)
    events: dict[EventKey, _Event] = field(default_factory=dict)
    cases: dict[str, _Case] = field(default_factory=dict)
    notifications: dict[str, _Notification] = field(default_factory=dict)
    follow_ups: dict[int, _FollowUp] = field(default_factory=dict)
    timeline: dict[str, list[TimelineEntry]] = field(default_factory=dict)
    next_follow_up_id: int = 1
    breaches: list[Breach] = field(default_factory=list)
    callbacks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_timeline(self, case_id: str, at: datetime, entries: Iterable[Entry]) -> None:
        rows = self.timeline.setdefault(case_id, [])
        rows += [TimelineEntry(at, kind, case_id, nid, detail) for kind, nid, detail in entries]

    def pending(self, case_id: str) -> list[_Notification]:
        return [
            n for n in self.notifications.values() if n.case_id == case_id and n.state is PENDING
        ]

    def pending_follow_ups(self, case_id: str) -> list[_FollowUp]:
        return [
            f for f in self.follow_ups.values() if f.case_id == case_id and f.state == "pending"
        ]

    def insert_notification(self, row: Mapping[str, Any]) -> None:
        self.notifications[row["id"]] = _Notification.from_row(row)

    def insert_follow_up(self, row: dict[str, Any]) -> None:
        every = row["every_seconds"]
        follow_up = _FollowUp(
            id=self.next_follow_up_id,
            case_id=row["case_id"],
            customer_id=row["customer_id"],
            status=row["status"],
            template=row["template"],
            priority=Priority(row["priority"]),
            due_at=row["due_at"],
            every=timedelta(seconds=every) if every is not None else None,
            max_count=row["max_count"],
            fired=row["fired"],
            state=row["state"],
        )
        self.next_follow_up_id += 1
        self.follow_ups[follow_up.id] = follow_up
        for detail in row["_details"]:  # timeline details waiting for the id
            detail["follow_up_id"] = follow_up.id

    def unsent_message(self, case_id: str) -> str | None:
        unsent = (
            n.id
            for n in self.notifications.values()
            if n.case_id == case_id
            and n.state in (PENDING, SENDING)
            and n.kind.value in CUSTOMER_FACING
        )
        return next(unsent, None)

    # --- an ingest batch, as planning.events decided it ------------------------------------
    def stored_events(self, events: Sequence[Event]) -> dict[EventKey, StoredEvent]:
        """What `plan_batch` needs to know of the store: the rows the batch touches."""
        found = {}
        for key in {(e.source, e.id) for e in events}:
            if (row := self.events.get(key)) is not None:
                found[key] = StoredEvent(row.body_hash, row.outcome, row.notification_ids)
        return found

    def customers_of(self, events: Sequence[Event]) -> dict[str, Customer]:
        ids = {e.customer.id for e in events}
        return {i: self.customers[i] for i in ids if i in self.customers}

    def cases_of(self, events: Sequence[Event]) -> dict[str, CaseState]:
        ids = {e.case_id for e in events}
        return {i: self.cases[i].state for i in ids if i in self.cases}

    def write_batch(self, batch: BatchPlan, now: datetime) -> dict[str, list[status.StateChange]]:
        """Write the plan; returns the stored rows it superseded, by case (for callbacks)."""
        self.customers.update(batch.customers)
        for row in batch.events:
            key = (row["source"], row["event_id"])
            ids = tuple(row["notification_ids"])
            self.events[key] = _Event(row["body_hash"], row["payload"], row["outcome"], ids)
        for case in (*batch.new_cases.values(), *batch.changed_cases.values()):
            self.cases[case.id] = _Case(case, self.events[batch.last_event[case.id]].payload)
        self._raise_priorities(batch.raised, now)
        superseded = {case_id: self._supersede(case_id, now) for case_id in batch.supersede}
        changes = {
            case_id: _superseded_changes(self, entries) for case_id, entries in superseded.items()
        }
        for row in batch.notifications:
            self.insert_notification(row)
        for row in batch.follow_ups:
            self.insert_follow_up(row)
        for item in batch.timeline:
            if isinstance(item, SupersedeMark):
                reason = {"reason": item.reason}
                entries = superseded[item.case_id]
                self.add_timeline(item.case_id, now, [(k, n, d | reason) for k, n, d in entries])
            else:
                self.add_timeline(item[0], now, [item[1]])
        return changes

    def _raise_priorities(self, raised: Mapping[str, Priority], now: datetime) -> None:
        for case_id, priority in raised.items():
            for n in self.pending(case_id):
                if n.priority > priority:
                    n.priority, n.updated_at = priority, now
            for f in self.pending_follow_ups(case_id):
                f.priority = min(f.priority, priority)

    def _supersede(self, case_id: str, now: datetime) -> list[Entry]:
        """The case's stored pending rows go; their timeline entries, without the reason."""
        entries: list[Entry] = []
        for n in self.pending(case_id):
            if n.kind.value in CUSTOMER_FACING:
                n.state, n.updated_at = NotificationState.SUPERSEDED, now
                entries.append(("superseded", n.id, {}))
        for f in self.pending_follow_ups(case_id):
            f.state = "cancelled"
            entries.append(
                ("follow_up_cancelled", None, {"follow_up_id": f.id, "template": f.template})
            )
        return entries


class MemoryStore(StoreBase):
    """A `Store` held in dictionaries; `memory://` in `create_store`."""

    def __init__(self, *, snapshots: bool = True) -> None:
        """`snapshots=False` skips the rollback copy before each write: for a caller that
        stops at the first failed write anyway (a replay), where the copy of every table
        would make a long history quadratic."""
        self._tables = _Tables()
        self._closed = False
        self._snapshots = snapshots

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
        if not self._snapshots:
            yield self._tables
            return
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
        with self._transaction() as tables:
            batch = plan_batch(
                events,
                stored_events=tables.stored_events(events),
                customers=tables.customers_of(events),
                cases=tables.cases_of(events),
                planner=planner,
                now=now,
            )
            stored = tables.write_batch(batch, now)
            if status.wanted(self.callback_routes):
                self._tell_changes(tables, status.batch_changes(batch, stored), now)
            for row in unreachable_callbacks(self.callback_routes, events, batch.results, now):
                tables.callbacks[row["id"]] = row
        return batch.results

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
        cancelled = sorted(
            (
                n
                for n in self._tables.notifications.values()
                if (n.customer_id, n.channel, n.state) == (customer_id, channel, PENDING)
            ),
            key=lambda n: n.id,
        )
        changes = []
        for n in cancelled:
            n.state, n.updated_at = NotificationState.CANCELLED, now
            change = status.opted_out(n.id, n.case_id, channel, n.attempts)
            self._tables.add_timeline(n.case_id, now, [("cancelled", n.id, change.detail())])
            changes.append(change)
        self._tell_changes(self._tables, changes, now)
        return len(cancelled)

    # --- the case page --------------------------------------------------------------------
    async def get_case_state(self, case_id: str) -> CaseState | None:
        case = self._tables.cases.get(case_id)
        return case.state if case else None

    async def set_preferences(
        self,
        customer_id: str,
        channel_order: Sequence[ChannelName],
        quiet_hours: bool,
        now: datetime,
    ) -> bool:
        customer = self._tables.customers.get(customer_id)
        if customer is None:
            return False
        chosen = replace(customer, channel_order=tuple(channel_order), quiet_hours=quiet_hours)
        self._tables.customers[customer_id] = chosen
        for case in self._tables.cases.values():
            if case.state.customer_id == customer_id:
                entry = preferences_entry(channel_order, quiet_hours)
                self._tables.add_timeline(case.state.id, now, [entry])
        if not quiet_hours:
            await self.release_quiet_deferrals(now, customer_id)
        return True

    # --- time -----------------------------------------------------------------------------
    async def fire_due_follow_ups(
        self, now: datetime, limit: int, quiet: QuietWindow | None = None
    ) -> int:
        due = sorted(
            (
                f
                for f in self._tables.follow_ups.values()
                if f.state == "pending" and f.due_at <= now
            ),
            key=lambda f: f.due_at,
        )[:limit]
        with self._transaction() as tables:
            for follow_up in due:
                customer = tables.customers[follow_up.customer_id]
                unsent = tables.unsent_message(follow_up.case_id)
                thread = tables.cases[follow_up.case_id].state.thread
                firing = followups.fire(follow_up.due(), customer, unsent, now, thread, quiet)
                if firing.notification is not None:
                    tables.insert_notification(firing.notification)
                tables.add_timeline(follow_up.case_id, now, firing.entries)
                self._tell_entries(tables, follow_up.case_id, firing.entries, now)
                self._tell_changes(
                    tables, status.created_in(follow_up.case_id, firing.entries), now
                )
                for name, value in firing.changes.items():
                    if name != "updated_at":
                        setattr(follow_up, name, value)
        return len(due)

    async def next_due_at(self) -> datetime | None:
        tables = self._tables
        times = [n.due_at for n in tables.notifications.values() if n.state is PENDING]
        times += [f.due_at for f in tables.follow_ups.values() if f.state == "pending"]
        times += [
            n.lease_expires_at
            for n in tables.notifications.values()
            if n.state is SENDING and n.lease_expires_at is not None
        ]
        times += [
            c.state.thread.breach_due
            for c in tables.cases.values()
            if c.state.thread is not None and c.state.thread.breach_due is not None
        ]
        times += memory_callbacks.earliest(tables.callbacks.values())
        return min(times, default=None)

    # --- dispatch ---------------------------------------------------------------------------
    async def claim_due(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[Claim]:
        due = [n for n in self._tables.notifications.values() if n.is_due(now)]
        picked = sorted(due, key=lambda n: (n.priority, n.due_at))[:limit]
        before = {n.id: n.state.value for n in picked}
        for n in picked:
            _take_lease(n, now, owner, lease)
        claimed = [self._claim(n) for n in picked]
        if status.wanted(self.callback_routes):
            changes = [status.claimed(c, before[c.notification_id]) for c in claimed]
            self._tell_changes(self._tables, changes, now)
        return claimed

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
            event=copy.deepcopy(case.event_payload),
            tried_channels=n.tried_channels,
            due_at=n.due_at,
            created_at=n.created_at,
        )

    async def finish(self, results: Sequence[tuple[Claim, Decision]], now: datetime) -> list[bool]:
        with self._transaction():
            written = [self._finish_one(claim, decision, now) for claim, decision in results]
            applied = [
                (claim, decision, entries)
                for (claim, decision), entries in zip(results, written, strict=True)
                if entries is not None
            ]
            if status.wanted(self.callback_routes):
                changes = [
                    change
                    for claim, decision, entries in applied
                    for change in (
                        status.decided(claim, decision, now),
                        *status.created_in(claim.case.id, entries),
                    )
                ]
                self._tell_changes(self._tables, changes, now)
            for claim, decision, _ in applied:  # after the status changes, as in SQL
                for row in failure_callbacks(self.callback_routes, claim, decision, now):
                    self._tables.callbacks[row["id"]] = row
            return [entries is not None for entries in written]

    def _finish_one(self, claim: Claim, decision: Decision, now: datetime) -> list[Entry] | None:
        """Apply one decision, fenced by the claim's lease version: the timeline entries
        it wrote, or None when it was refused."""
        n = self._tables.notifications.get(claim.notification_id)
        if n is None:
            return None
        if n.lease_version != claim.lease_version or n.state is not SENDING:
            _mark_attempt(n, claim, "fenced", "late result refused: lease lost", None, now)
            return None
        _apply_decision(n, decision, now)
        _mark_attempt(
            n, claim, ATTEMPT_OUTCOME[decision.kind], decision.detail, decision.provider_id, now
        )
        entries = self._consequences(claim, decision, now)
        self._tables.add_timeline(claim.case.id, now, entries)
        return entries

    def _consequences(self, claim: Claim, decision: Decision, now: datetime) -> list[Entry]:
        if decision.kind is DecisionKind.SENT:
            case = self._tables.cases[claim.case.id]
            case.state = replace(case.state, last_message_at=now)
            if golden_thread.is_contact(claim.kind, NotificationState.SENT):
                contact = Contact(now, ContactKind.SENT, claim.channel, claim.notification_id)
                self._contact(claim.case.id, contact)
        if decision.kind is not DecisionKind.FAIL:
            return [outcome_entry(claim, decision)]
        if decision.opt_out or decision.disable_address:
            self._forget_channel(claim, decision)
        entries, fallback = failure(claim, decision, now)
        if fallback is not None:
            self._tables.insert_notification(fallback)
        return entries

    def _forget_channel(self, claim: Claim, decision: Decision) -> None:
        """The provider says this address is unusable: remember it on the customer."""
        current = self._tables.customers.get(claim.customer.id, claim.customer)
        if decision.opt_out:
            current = replace(current, opted_out=current.opted_out | {claim.channel})
        if decision.disable_address and claim.channel == "chat":
            current = replace(current, chat_webhook=None)
        self._tables.customers[current.id] = current

    async def release(self, claims: Sequence[Claim], now: datetime) -> None:
        for claim in claims:
            n = self._tables.notifications.get(claim.notification_id)
            if n is None or n.lease_version != claim.lease_version or n.state is not SENDING:
                continue
            n.state, n.lease_owner, n.lease_expires_at = PENDING, None, None
            n.attempts -= 1
            n.updated_at = now
            _mark_attempt(n, claim, "released", RELEASED, None, now)
            self._tell_changes(self._tables, [status.released(claim, RELEASED)], now)

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
        allowed_from = reports.FORWARD.get(state)
        if not allowed_from:
            return False  # "sent" and friends: we knew that when the provider accepted it
        with self._transaction() as tables:
            n = next(
                (
                    n
                    for n in tables.notifications.values()
                    if n.provider_id == provider_id and n.state.value in allowed_from
                ),
                None,
            )
            if n is None:
                return False
            n.state, n.updated_at, n.last_error = state, now, detail or None
            customer = tables.customers.get(n.customer_id)
            outcome = reports.report(n.reported(), customer, state, provider_id, detail, now)
            if outcome.fallback is not None:
                tables.insert_notification(outcome.fallback)
            tables.add_timeline(n.case_id, now, outcome.entries)
            if n.kind is not NotificationKind.TEST:  # a studio test is not the back office's
                self._tell_entries(tables, n.case_id, outcome.entries, now)
                moved = status.reported(n.reported(), n.attempts, state, detail, outcome.entries)
                self._tell_changes(tables, moved, now)
        return True

    def _tell_entries(
        self, tables: _Tables, case_id: str, entries: Sequence[Entry], now: datetime
    ) -> None:
        state = tables.cases[case_id].state
        case = CaseRef(case_id, state.customer_id, state.status, state.source)
        for row in entry_callbacks(self.callback_routes, case, entries, now):
            tables.callbacks[row["id"]] = row

    def _tell_changes(
        self, tables: _Tables, changes: Sequence[status.StateChange], now: datetime
    ) -> None:
        """`notification.status` callbacks (planning.status_callbacks), when any source
        opted in."""
        if not changes or not status.wanted(self.callback_routes):
            return
        cases = {
            c.case_id: CaseRef.of(tables.cases[c.case_id].state)
            for c in changes
            if c.case_id in tables.cases
        }
        for row in status.status_callbacks(self.callback_routes, changes, cases, now):
            tables.callbacks[row["id"]] = row

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
        before = n.state.value
        n.state, n.due_at, n.attempts, n.updated_at = PENDING, now, 0, now
        detail: dict[str, Any] = {"previous_error": n.last_error}
        self._tables.add_timeline(n.case_id, now, [("redriven", notification_id, detail)])
        change = status.redriven(n.id, n.case_id, n.channel, before, n.last_error)
        self._tell_changes(self._tables, [change], now)
        return True

    async def send_now(self, notification_id: str, now: datetime) -> bool:
        n = self._tables.notifications.get(notification_id)
        if n is None or n.state is not PENDING:
            return False
        n.due_at, n.priority, n.updated_at = now, Priority.URGENT, now
        detail: dict[str, Any] = {"reason": "send-now by an operator"}
        self._tables.add_timeline(n.case_id, now, [("released", notification_id, detail)])
        return True

    async def release_quiet_deferrals(self, now: datetime, customer_id: str | None = None) -> int:
        held = sorted(
            (
                n
                for n in self._tables.notifications.values()
                if _held_by_quiet_hours(n, now) and customer_id in (None, n.customer_id)
            ),
            key=lambda n: n.id,
        )
        detail: dict[str, Any] = {"reason": "quiet hours are off"}
        for n in held:
            n.due_at, n.updated_at = now, now
            self._tables.add_timeline(n.case_id, now, [("released", n.id, detail)])
        return len(held)

    async def state_counts(self) -> dict[str, int]:
        return dict(Counter(n.state.value for n in self._tables.notifications.values()))

    async def delivery_counts(self) -> dict[tuple[str, str], int]:
        found: Counter[tuple[str, str]] = Counter(
            (n.channel, n.state.value) for n in self._tables.notifications.values()
        )
        return dict(found)

    async def statuses_without_rule(self, limit: int) -> list[tuple[str, int]]:
        found = Counter(
            e.payload["status"] for e in self._tables.events.values() if e.outcome == "no_rule"
        )
        return sorted(found.items(), key=lambda item: (-item[1], item[0]))[:limit]

    # --- the golden thread -----------------------------------------------------------------
    def _contact(self, case_id: str, contact: Contact) -> bool:
        case = self._tables.cases.get(case_id)
        thread = case.state.thread if case else None
        if case is None or thread is None or contact.at < thread.dark_since:
            return False
        case.state = replace(case.state, thread=golden_thread.after_contact(thread, contact))
        return True

    async def record_contact(self, case_id: str, contact: Contact) -> bool:
        if not self._contact(case_id, contact):
            return False
        detail = {"kind": contact.kind.value, "channel": contact.channel}
        self._tables.add_timeline(case_id, contact.at, [(contact.kind.value, None, detail)])
        return True

    async def fire_due_breaches(self, now: datetime, limit: int) -> list[Breach]:
        states = [c.state for c in self._tables.cases.values()]
        found = []
        for state in memory_cases.due_breaches(states, now, limit):
            thread = state.thread
            assert thread is not None and thread.deadline is not None
            breach = Breach(
                state.id,
                state.customer_id,
                state.status,
                state.source,
                thread.dark_since,
                thread.deadline,
            )
            after = golden_thread.after_breach(thread, now)
            self._tables.cases[state.id].state = replace(state, thread=after)
            self._tables.breaches.append(breach)
            for row in breach_callbacks(self.callback_routes, [breach], now):
                self._tables.callbacks[row["id"]] = row
            self._tables.add_timeline(state.id, now, [breach.entry()])
            found.append(breach)
        return found

    async def thread_counts(self, now: datetime) -> tuple[int, int]:
        threads = [c.state.thread for c in self._tables.cases.values() if c.state.thread]
        open_threads = [t for t in threads if t.open]
        return len(open_threads), sum(t.breached(now) for t in open_threads)

    async def get_case(self, case_id: str) -> CaseView | None:
        case = self._tables.cases.get(case_id)
        return memory_cases.case_view(case.state) if case else None

    async def list_cases(self, where: CaseFilter, now: datetime) -> CasePage:
        return memory_cases.list_cases((c.state for c in self._tables.cases.values()), where, now)

    async def golden_thread(self, now: datetime, window: timedelta) -> GoldenThreadSummary:
        states = (c.state for c in self._tables.cases.values())
        return memory_cases.summary(states, self._tables.breaches, now, window)

    # --- retention -----------------------------------------------------------------------
    async def purge(self, horizon: datetime) -> RetentionReport:
        """Finished callbacks and breaches past the horizon, by the SQL engines' rules
        (store/sql/retention.py). The rest of a memory store's history lives as long as
        its process (tests, simulations, demos) and is not swept."""
        tables = self._tables
        old = [
            callback_id
            for callback_id, row in tables.callbacks.items()
            if row["state"] in FINISHED_CALLBACKS and row["updated_at"] < horizon
        ]
        for callback_id in old:
            del tables.callbacks[callback_id]
        kept = [breach for breach in tables.breaches if breach.deadline >= horizon]
        swept = len(tables.breaches) - len(kept)
        tables.breaches = kept
        return RetentionReport(callbacks=len(old), breaches=swept)

    # --- callbacks ---------------------------------------------------------------------------
    async def claim_callbacks(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[CallbackClaim]:
        return memory_callbacks.claim(self._tables.callbacks.values(), now, limit, owner, lease)

    async def finish_callback(
        self, claimed: CallbackClaim, outcome: CallbackOutcome, now: datetime
    ) -> bool:
        row = self._tables.callbacks.get(claimed.id)
        if not memory_callbacks.finish(row, claimed, outcome, now):
            return False
        self._tables.add_timeline(claimed.case_id, now, [timeline_entry(claimed, outcome)])
        return True

    async def list_callbacks(self, state: str | None, limit: int) -> list[CallbackView]:
        rows = [r for r in self._tables.callbacks.values() if state is None or r["state"] == state]
        rows.sort(key=lambda r: r["updated_at"], reverse=True)
        return [memory_callbacks.view(r) for r in rows[:limit]]

    async def page_callbacks(self, where: CallbackFilter) -> CallbackPage:
        return memory_callbacks.page(self._tables.callbacks.values(), where)

    async def get_callback(self, callback_id: str) -> CallbackView | None:
        row = self._tables.callbacks.get(callback_id)
        return memory_callbacks.view(row) if row is not None else None

    async def redrive_callback(self, callback_id: str, now: datetime) -> bool:
        row = self._tables.callbacks.get(callback_id)
        if row is None or row["state"] != "dead":
            return False
        row.update(state="pending", due_at=now, attempts=0, updated_at=now)
        detail = {"callback_id": callback_id, "type": row["type"]}
        self._tables.add_timeline(row["case_id"], now, [("callback_redriven", None, detail)])
        return True


def _superseded_changes(tables: _Tables, entries: Sequence[Entry]) -> list[status.StateChange]:
    superseded = (
        tables.notifications[nid] for kind, nid, _ in entries if kind == "superseded" and nid
    )
    return [
        status.StateChange(n.id, n.case_id, n.channel, n.state.value, PENDING.value, n.attempts)
        for n in superseded
    ]


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


def _held_by_quiet_hours(n: _Notification, now: datetime) -> bool:
    last = n.attempt(n.lease_version)
    return (
        n.state is PENDING
        and n.due_at > now
        and last is not None
        and last.outcome == "deferred"
        and last.detail == QUIET_HOURS_DETAIL
    )


def _attempt_view(attempt: _Attempt) -> AttemptView:
    return AttemptView(
        number=attempt.number,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        outcome=attempt.outcome,
        detail=attempt.detail,
        provider_id=attempt.provider_id,
    )
