"""`notification.status`: the opt-in callback that tells a source every state change of
a notification of its cases (DESIGN.md, "Telling the back office").

Pure. Every engine describes each change it writes as a `StateChange`, in the order it
makes them, and hands the list to `status_callbacks`, the one place that decides who
hears about it and what the callback says. An engine asks `wanted` first: when no source
opted in, it describes nothing and reads nothing.

`attempt` is the notification's attempt count after the change (provider calls made or
in flight), as `GET /v1/notifications/{id}` reports it. The data names the notification
and its channel, never the customer's address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from groundcontrol.domain import Claim, Decision, DecisionKind, NotificationState
from groundcontrol.planning.callbacks import (
    NOTIFICATION_STATUS,
    CallbackRoutes,
    CaseRef,
    callback_row,
)
from groundcontrol.planning.events import BatchPlan, SupersedeMark
from groundcontrol.planning.reports import Reported
from groundcontrol.planning.rows import Entry
from groundcontrol.planning.transitions import NOT_ATTEMPTED, decision_changes

PENDING = NotificationState.PENDING.value
SENDING = NotificationState.SENDING.value
SENT = NotificationState.SENT.value


@dataclass(frozen=True)
class StateChange:
    """One notification moved to `state` (from `previous`; None when it was created)."""

    notification_id: str
    case_id: str
    channel: str
    state: str
    previous: str | None
    attempt: int
    reason: str | None = None

    def detail(self) -> dict[str, Any]:
        """Its reason, as the timeline entry of the change says it."""
        return {"reason": self.reason}

    def data(self) -> dict[str, Any]:
        return {
            "notification_id": self.notification_id,
            "channel": self.channel,
            "state": self.state,
            "previous_state": self.previous,
            "attempt": self.attempt,
            "reason": self.reason,
        }


def wanted(routes: CallbackRoutes) -> bool:
    """Whether any source asked for `notification.status` at all."""
    return routes.anyone_wants(NOTIFICATION_STATUS)


def status_callbacks(
    routes: CallbackRoutes,
    changes: Iterable[StateChange],
    cases: Mapping[str, CaseRef],
    now: datetime,
) -> list[dict[str, Any]]:
    """The callback rows for the changes whose case's source asked for them, in order.
    A change of a case the engine does not know (a studio test send) tells nobody."""
    rows = []
    for change in changes:
        case = cases.get(change.case_id)
        if case is None:
            continue
        row = callback_row(
            routes,
            NOTIFICATION_STATUS,
            source=case.source,
            case_id=case.case_id,
            customer_id=case.customer_id,
            status=case.status,
            data=change.data(),
            now=now,
        )
        if row is not None:
            rows.append(row)
    return rows


# --- the changes, as each writer describes them ---------------------------------------------
def created(row: Mapping[str, Any], reason: str | None = None) -> StateChange:
    """A new notification row (planned, a fallback, a fired follow-up)."""
    return StateChange(row["id"], row["case_id"], row["channel"], PENDING, None, 0, reason)


def created_in(case_id: str, entries: Iterable[Entry]) -> list[StateChange]:
    """The notifications a writer's timeline entries say it planned: the fallback of a
    failure or an undelivered report, the message of a fired follow-up."""
    return [
        StateChange(nid, case_id, detail["channel"], PENDING, None, 0, detail.get("note"))
        for kind, nid, detail in entries
        if kind == "planned" and nid is not None
    ]


def claimed(claim: Claim, previous: str = PENDING) -> StateChange:
    """Claimed for an attempt; `previous` is sending when a lost worker's lease expired."""
    return StateChange(
        claim.notification_id, claim.case.id, claim.channel, SENDING, previous, claim.attempt
    )


def decided(claim: Claim, decision: Decision, now: datetime) -> StateChange:
    """What an attempt's decision made of the claimed notification."""
    state = decision_changes(decision, now)["state"]
    attempts = claim.attempt - 1 if decision.kind in NOT_ATTEMPTED else claim.attempt
    # A send's detail is the provider's receipt (an outbox path, a queue id): no reason.
    reason = None if decision.kind is DecisionKind.SENT else decision.detail or None
    return StateChange(
        claim.notification_id, claim.case.id, claim.channel, state.value, SENDING, attempts, reason
    )


def released(claim: Claim, reason: str) -> StateChange:
    """Given back unattempted (shutdown before sending)."""
    attempts = claim.attempt - 1
    return StateChange(
        claim.notification_id, claim.case.id, claim.channel, PENDING, SENDING, attempts, reason
    )


def opted_out(notification_id: str, case_id: str, channel: str, attempts: int) -> StateChange:
    """Cancelled while pending: the customer opted out of its channel."""
    cancelled = NotificationState.CANCELLED.value
    reason = f"customer opted out of {channel}"
    return StateChange(notification_id, case_id, channel, cancelled, PENDING, attempts, reason)


def redriven(
    notification_id: str, case_id: str, channel: str, previous: str | None, error: str | None
) -> StateChange:
    """Pending again with fresh attempts, on an operator's word; `reason` is the error
    it had died of."""
    return StateChange(notification_id, case_id, channel, PENDING, previous, 0, error)


def reported(
    n: Reported, attempts: int, state: NotificationState, detail: str, entries: Iterable[Entry]
) -> list[StateChange]:
    """A provider's delivery report (it only ever moves a sent one), then the fallback
    the report created."""
    moved = StateChange(n.id, n.case_id, n.channel, state.value, SENT, attempts, detail or None)
    return [moved, *created_in(n.case_id, entries)]


def batch_changes(
    batch: BatchPlan, stored: Mapping[str, Sequence[StateChange]]
) -> list[StateChange]:
    """An ingest batch's changes in the order its timeline tells them: each new row
    created, rows the batch planned and superseded again, and `stored`, the changes the
    engine made to the case's stored pending rows where the batch superseded them."""
    rows = {row["id"]: row for row in batch.notifications}
    changes: list[StateChange] = []
    for item in batch.timeline:
        if isinstance(item, SupersedeMark):
            found = sorted(stored.get(item.case_id, ()), key=lambda c: c.notification_id)
            changes += [replace(change, reason=item.reason) for change in found]
            continue
        _, (kind, nid, detail) = item
        row = rows.get(nid) if nid is not None else None
        if row is None:
            continue
        if kind == "planned":
            changes.append(created(row, detail.get("note")))
        elif kind == "superseded":
            changes.append(_superseded_in_batch(row, detail.get("reason")))
    return changes


def _superseded_in_batch(row: Mapping[str, Any], reason: str | None) -> StateChange:
    superseded = NotificationState.SUPERSEDED.value
    return StateChange(row["id"], row["case_id"], row["channel"], superseded, PENDING, 0, reason)
