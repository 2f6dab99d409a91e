"""A provider's delivery report: states only move forward, and undelivered falls back
to the customer's next channel.

Pure: the engine finds the sent notification the report names, moves its state, and
writes the entries and the fallback row `undelivered` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from groundcontrol.domain import (
    ChannelName,
    Customer,
    NotificationKind,
    NotificationState,
    Priority,
)
from groundcontrol.planning.plan import PlannedNotification, next_channel
from groundcontrol.planning.rows import Entry, notification_row, planned_entries

# Which states a report may move a notification from; anything else is late or repeated.
FORWARD = {
    NotificationState.DELIVERED: (NotificationState.SENT.value,),
    NotificationState.UNDELIVERED: (NotificationState.SENT.value,),
}


@dataclass(frozen=True)
class Reported:
    """The notification a report moved, as the engine read it."""

    id: str
    case_id: str
    customer_id: str
    kind: NotificationKind
    template: str
    status: str
    channel: ChannelName
    priority: Priority
    tried_channels: tuple[ChannelName, ...]


@dataclass(frozen=True)
class Outcome:
    """What the report writes besides the state: timeline entries, maybe a fallback row."""

    entries: list[Entry]
    fallback: dict[str, Any] | None = None


def report(
    n: Reported,
    customer: Customer | None,
    state: NotificationState,
    provider_id: str,
    detail: str,
    now: datetime,
) -> Outcome:
    entry: Entry = (
        state.value,
        n.id,
        {"channel": n.channel, "provider_id": provider_id, "detail": detail},
    )
    if state is not NotificationState.UNDELIVERED:
        return Outcome([entry])
    return _fall_back(n, customer, entry, now)


def _fall_back(n: Reported, customer: Customer | None, entry: Entry, now: datetime) -> Outcome:
    tried = [*n.tried_channels, n.channel]
    channel = next_channel(customer, tried) if customer else None
    if channel is None:
        reason = {"reason": "undelivered and no other channel left"}
        return Outcome([entry, ("unreachable", n.id, reason)])
    planned = PlannedNotification(
        kind=n.kind,
        template=n.template,
        status=n.status,
        channel=channel,
        priority=n.priority,
        due_at=now,
    )
    row = notification_row(
        case_id=n.case_id,
        customer_id=n.customer_id,
        planned=planned,
        now=now,
        previous_id=n.id,
        tried=tried,
    )
    hand_over = {"from": n.channel, "to": channel, "next": row["id"]}
    fallback: list[Entry] = [("fallback", n.id, hand_over)]
    return Outcome([entry, *fallback, *planned_entries([row], ["fallback: undelivered"])], row)
