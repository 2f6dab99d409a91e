"""What a claimed attempt's outcome writes, apart from how it is stored: the SQL stores
and the in-memory store apply the same values, rows and timeline entries, so they cannot
drift apart. A failure falls back to the channel the dispatcher chose (`failure`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from groundcontrol.domain import (
    ChannelName,
    Claim,
    Decision,
    DecisionKind,
    Event,
    NotificationState,
)
from groundcontrol.planning.plan import Outcome, Plan, PlannedNotification
from groundcontrol.planning.rows import Entry, notification_row, planned_entries

# Decisions under which no provider call was made: the attempt does not count.
NOT_ATTEMPTED = frozenset({DecisionKind.DEFER, DecisionKind.SUPERSEDE, DecisionKind.CANCEL})
ATTEMPT_OUTCOME = {
    DecisionKind.SENT: "sent",
    DecisionKind.RETRY: "transient",
    DecisionKind.DEFER: "deferred",
    DecisionKind.FAIL: "permanent",
    DecisionKind.SUPERSEDE: "superseded",
    DecisionKind.CANCEL: "cancelled",
}
# Attempt rows that record a claim but no provider call ("deferring is not an attempt"):
# kept for the record (why was it held?), left out of a notification's attempt_log.
NOT_ATTEMPT_OUTCOMES = frozenset({*(ATTEMPT_OUTCOME[kind] for kind in NOT_ATTEMPTED), "released"})
QUIET_HOURS_DETAIL = "quiet hours"  # a quiet-hours deferral's detail: restarts look for it


def counts_as_attempt(outcome: str) -> bool:
    return outcome not in NOT_ATTEMPT_OUTCOMES


def event_entries(event: Event, plan: Plan) -> list[Entry]:
    """The timeline entries an event writes, whatever its plan."""
    detail = {
        "event_id": event.id,
        "source": event.source,
        "status": event.status,
        "occurred_at": event.occurred_at.isoformat(),
        "outcome": plan.outcome.value,
        "note": plan.note,
    }
    entries: list[Entry] = [("event", None, detail)]
    if plan.outcome is Outcome.UNREACHABLE:
        entries.append(("unreachable", None, {"reason": plan.note}))
    return entries


def preferences_entry(channel_order: Sequence[ChannelName], quiet_hours: bool) -> Entry:
    detail = {"channel_order": list(channel_order), "quiet_hours": quiet_hours}
    return ("preferences_changed", None, detail)


def decision_changes(decision: Decision, now: datetime) -> dict[str, Any]:
    """The notification's new values under `decision`, the lease released. Not the attempt
    count: it goes down by one for the kinds in NOT_ATTEMPTED."""
    changes: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None, "updated_at": now}
    kind = decision.kind
    if kind is DecisionKind.SENT:
        return changes | {
            "state": NotificationState.SENT,
            "provider_id": decision.provider_id,
            "segments": decision.segments,
            "sent_at": now,
            "last_error": None,
        }
    if kind in (DecisionKind.RETRY, DecisionKind.DEFER):
        assert decision.at is not None
        error = decision.detail if kind is DecisionKind.RETRY else None
        return changes | {
            "state": NotificationState.PENDING,
            "due_at": decision.at,
            "last_error": error,
        }
    if kind is DecisionKind.FAIL:
        state = NotificationState.FAILED if decision.fallback_channel else NotificationState.DEAD
        return changes | {"state": state, "last_error": decision.detail}
    if kind is DecisionKind.SUPERSEDE:
        return changes | {"state": NotificationState.SUPERSEDED}
    return changes | {"state": NotificationState.CANCELLED}


def outcome_entry(claim: Claim, decision: Decision) -> Entry:
    """The timeline entry for what became of the claimed notification."""
    nid, kind = claim.notification_id, decision.kind
    detail: dict[str, Any] = {"channel": claim.channel, "attempt": claim.attempt}
    if decision.detail:
        detail["detail"] = decision.detail
    if kind is DecisionKind.SENT:
        return ("sent", nid, detail | {"provider_id": decision.provider_id})
    if kind is DecisionKind.RETRY:
        assert decision.at is not None
        extra: dict[str, Any] = {"next_attempt_at": decision.at.isoformat()}
        if decision.outcome_unknown:
            extra["possible_duplicate"] = True
        return ("retry_scheduled", nid, detail | extra)
    if kind is DecisionKind.DEFER:
        assert decision.at is not None
        return ("deferred", nid, detail | {"until": decision.at.isoformat()})
    if kind is DecisionKind.FAIL and decision.fallback_channel is None:
        return ("dead", nid, detail | {"reason": decision.detail or "failed"})
    if kind is DecisionKind.FAIL:
        return ("failed", nid, detail)
    return ("superseded" if kind is DecisionKind.SUPERSEDE else "cancelled", nid, detail)


def forgotten_entry(claim: Claim, decision: Decision) -> Entry:
    """The entry for an address the provider called unusable (opt-out or disabled)."""
    what = "opted_out" if decision.opt_out else "address_disabled"
    return (what, claim.notification_id, {"channel": claim.channel, "reason": decision.detail})


def failure(
    claim: Claim, decision: Decision, now: datetime
) -> tuple[list[Entry], dict[str, Any] | None]:
    """A FAIL decision's timeline entries and, when a channel is left, the fallback row:
    the same message again at once on that channel, linked to the failed one. (The
    engine also forgets an opted-out or disabled address on the customer.)"""
    entries: list[Entry] = []
    if decision.opt_out or decision.disable_address:
        entries.append(forgotten_entry(claim, decision))
    entries.append(outcome_entry(claim, decision))
    channel = decision.fallback_channel
    if channel is None:
        return entries, None
    row = notification_row(
        case_id=claim.case.id,
        customer_id=claim.customer.id,
        planned=_again_on(claim, channel, now),
        now=now,
        previous_id=claim.notification_id,
        tried=[*claim.tried_channels, claim.channel],
    )
    hand_over = {"from": claim.channel, "to": channel, "next": row["id"]}
    entries.append(("fallback", claim.notification_id, hand_over))
    return entries + planned_entries([row], [f"fallback from {claim.channel}"]), row


def _again_on(claim: Claim, channel: ChannelName, now: datetime) -> PlannedNotification:
    return PlannedNotification(
        kind=claim.kind,
        template=claim.template,
        status=claim.status,
        channel=channel,
        priority=claim.priority,
        due_at=now,
    )
