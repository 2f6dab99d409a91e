"""What events do: the one definition of recording a status change.

Pure: given what the store held before the batch (its events, customers and cases),
`plan_batch` applies the events in order (idempotency, customer upsert, the journey
plan, case update, newest state wins, priority raise) and returns the rows to write
and the results to answer. Every engine only writes them: the SQL store with a fixed
number of statements per batch, the memory store into its dictionaries. The only
things it cannot know are the store's still-pending messages and follow-ups of a
case: it names the cases whose stored pending rows a newer status supersedes
(`supersede`) or whose priority it raises (`raised`), and leaves a `SupersedeMark`
where the superseded rows' timeline entries go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from groundcontrol.domain import (
    CaseState,
    Customer,
    Event,
    IngestResult,
    IngestStatus,
    NotificationState,
    Priority,
)
from groundcontrol.planning.plan import Plan, Planner
from groundcontrol.planning.rows import (
    CUSTOMER_FACING,
    Entry,
    StoredEvent,
    event_row,
    follow_up_detail,
    follow_up_row,
    notification_row,
    planned_entries,
    repeat_result,
)
from groundcontrol.planning.transitions import event_entries

EventKey = tuple[str, str]  # (source, id)


@dataclass(frozen=True)
class SupersedeMark:
    """Where the store's own pending rows of `case_id`, superseded, enter the timeline."""

    case_id: str
    reason: str


@dataclass
class BatchPlan:
    results: list[IngestResult] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[str, Customer] = field(default_factory=dict)  # changed ones only
    new_cases: dict[str, CaseState] = field(default_factory=dict)
    changed_cases: dict[str, CaseState] = field(default_factory=dict)
    last_event: dict[str, EventKey] = field(default_factory=dict)  # case id -> its event
    notifications: list[dict[str, Any]] = field(default_factory=list)
    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    # case id -> the lowest priority number (most urgent) its stored pending rows take
    raised: dict[str, Priority] = field(default_factory=dict)
    supersede: set[str] = field(default_factory=set)  # cases whose stored pending rows go
    timeline: list[tuple[str, Entry] | SupersedeMark] = field(default_factory=list)


@dataclass
class _Known:
    """What the batch sees: the store's state before it, updated event by event."""

    events: dict[EventKey, StoredEvent]
    customers: dict[str, Customer]
    cases: dict[str, CaseState]


def plan_batch(
    events: Sequence[Event],
    *,
    stored_events: Mapping[EventKey, StoredEvent],
    customers: Mapping[str, Customer],
    cases: Mapping[str, CaseState],
    planner: Planner,
    now: datetime,
) -> BatchPlan:
    known = _Known(dict(stored_events), dict(customers), dict(cases))
    batch = BatchPlan()
    for event in events:
        batch.results.append(_record(batch, known, event, planner, now))
    return batch


def _record(
    batch: BatchPlan, known: _Known, event: Event, planner: Planner, now: datetime
) -> IngestResult:
    stored = known.events.get((event.source, event.id))
    if stored is not None:
        return repeat_result(stored, event)
    customer = _resolve_customer(batch, known, event)
    if customer is None:
        return IngestResult(IngestStatus.UNKNOWN_CUSTOMER, event.id)
    before = known.cases.get(event.case_id)
    plan = planner(event, before, customer)
    ids = _apply(batch, known, event, before, customer, plan, now)
    batch.events.append(event_row(event, now, plan.outcome.value, ids))
    known.events[(event.source, event.id)] = StoredEvent(event.body_hash, plan.outcome.value, ids)
    return IngestResult(IngestStatus.ACCEPTED, event.id, plan.outcome.value, ids)


def _resolve_customer(batch: BatchPlan, known: _Known, event: Event) -> Customer | None:
    current = known.customers.get(event.customer.id)
    if not event.customer.fields:
        return current
    customer = event.customer.apply(current)
    if customer != current:
        known.customers[customer.id] = customer
        batch.customers[customer.id] = customer
    return customer


def _apply(
    batch: BatchPlan,
    known: _Known,
    event: Event,
    before: CaseState | None,
    customer: Customer,
    plan: Plan,
    now: datetime,
) -> tuple[str, ...]:
    _timeline(batch, event.case_id, event_entries(event, plan))
    if not plan.advances_case:
        return ()
    _update_case(batch, known, event, before, customer, plan)
    if before is not None and plan.supersede_pending:
        _supersede(batch, event.case_id, f"newer status {event.status!r}", now)
    elif before is not None:
        _raise_priority(batch, event.case_id, plan.priority)
    ids = _plan_notifications(batch, event, customer, plan, now)
    if plan.follow_up is not None:
        _plan_follow_up(batch, event, customer, plan, now)
    return ids


def _timeline(batch: BatchPlan, case_id: str, entries: Sequence[Entry]) -> None:
    batch.timeline.extend((case_id, entry) for entry in entries)


def _update_case(
    batch: BatchPlan,
    known: _Known,
    event: Event,
    before: CaseState | None,
    customer: Customer,
    plan: Plan,
) -> None:
    status, previous = event.status, None
    if before is not None:
        moved = before.status != event.status
        status = event.status if moved else before.status
        previous = before.status if moved else before.previous_status
    after = CaseState(
        id=event.case_id,
        customer_id=customer.id,
        status=status,
        previous_status=previous,
        status_at=event.occurred_at,
        sequence=event.sequence if event.sequence is not None else _sequence(before),
        priority=plan.priority,
        data={**(before.data if before else {}), **event.data},
        last_message_at=before.last_message_at if before else None,
        source=event.source,
        thread=plan.thread,
    )
    known.cases[event.case_id] = after
    if before is None or event.case_id in batch.new_cases:
        batch.new_cases[event.case_id] = after
    else:
        batch.changed_cases[event.case_id] = after
    batch.last_event[event.case_id] = (event.source, event.id)


def _sequence(case: CaseState | None) -> int | None:
    return case.sequence if case is not None else None


def _supersede(batch: BatchPlan, case_id: str, reason: str, now: datetime) -> None:
    if case_id not in batch.new_cases and case_id not in batch.supersede:
        batch.supersede.add(case_id)
        batch.timeline.append(SupersedeMark(case_id, reason))
    entries: list[Entry] = []
    for row in _pending(batch.notifications, case_id):
        if row["kind"] in CUSTOMER_FACING:
            row.update(state=NotificationState.SUPERSEDED.value, updated_at=now)
            entries.append(("superseded", row["id"], {"reason": reason}))
    for row in _pending(batch.follow_ups, case_id):
        row.update(state="cancelled", updated_at=now)
        detail = {"follow_up_id": None, "template": row["template"], "reason": reason}
        row["_details"].append(detail)  # the id is known once the row is inserted
        entries.append(("follow_up_cancelled", None, detail))
    _timeline(batch, case_id, entries)


def _pending(rows: list[dict[str, Any]], case_id: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["case_id"] == case_id and r["state"] == "pending"]


def _raise_priority(batch: BatchPlan, case_id: str, priority: Priority) -> None:
    # Stored rows a newer status already superseded in this batch stay as they were.
    if case_id not in batch.new_cases and case_id not in batch.supersede:
        batch.raised[case_id] = min(batch.raised.get(case_id, priority), priority)
    for row in _pending(batch.notifications, case_id) + _pending(batch.follow_ups, case_id):
        row["priority"] = min(row["priority"], int(priority))


def _plan_notifications(
    batch: BatchPlan, event: Event, customer: Customer, plan: Plan, now: datetime
) -> tuple[str, ...]:
    rows = [
        notification_row(case_id=event.case_id, customer_id=customer.id, planned=p, now=now)
        for p in plan.notifications
    ]
    batch.notifications.extend(rows)
    _timeline(batch, event.case_id, planned_entries(rows, [p.note for p in plan.notifications]))
    return tuple(row["id"] for row in rows)


def _plan_follow_up(
    batch: BatchPlan, event: Event, customer: Customer, plan: Plan, now: datetime
) -> None:
    follow_up = plan.follow_up
    assert follow_up is not None
    detail = follow_up_detail(follow_up, None)
    row = follow_up_row(event, customer, plan, follow_up, now)
    batch.follow_ups.append(row | {"_details": [detail]})  # details wait for the row's id
    _timeline(batch, event.case_id, [("follow_up_scheduled", None, detail)])
