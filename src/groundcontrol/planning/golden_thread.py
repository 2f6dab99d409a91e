"""The golden thread: how long an open case's customer has gone without hearing from us.

The one definition of contact, open/final, dark_since, promise and breach (DESIGN.md,
"The golden thread"). Pure values and functions over them: the store keeps a case's
`Thread` in the columns of its row and changes it only through the transitions below,
the API and the dashboard read it, the simulator replays it.

- A case is open from its first event until a status whose rule says `final`; a later
  non-final status reopens it, and the reopening starts a new dark stretch (while the
  case was closed nobody owed the customer a word).
- A contact is a customer-facing notification that reached sent (or delivered, which
  only follows sent: the notification counts once, when it first got through), or the
  customer opening the case page (`viewed`). A studio test send is not a contact.
- dark_since is the latest contact, or the first event's received_at.
- The promise is the current status's rule `promise`, else `[defaults] promise`.
- A case is breached while open, with a promise, and dark for as long as it or longer.
  The breach is recorded once per dark stretch; it ends at the next contact or a final
  status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from groundcontrol.domain import NotificationKind, NotificationState
from groundcontrol.planning.journeys import Journeys


class ContactKind(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    VIEWED = "viewed"  # the customer opened the case page


# Notification states in which a notification has reached the customer.
CONTACT_STATES = frozenset({NotificationState.SENT, NotificationState.DELIVERED})


def is_contact(kind: NotificationKind, state: NotificationState) -> bool:
    """Whether a notification of `kind` in `state` is a contact with the customer."""
    return kind is not NotificationKind.TEST and state in CONTACT_STATES


@dataclass(frozen=True)
class Contact:
    at: datetime
    kind: ContactKind
    channel: str | None = None
    notification_id: str | None = None


def promise_for(journeys: Journeys, status: str) -> timedelta | None:
    """The longest a case in `status` may stay dark: the rule's, else the default."""
    rule = journeys.rule_for(status)
    if rule is not None and rule.promise is not None:
        return rule.promise
    return journeys.default_promise


def is_final(journeys: Journeys, status: str) -> bool:
    rule = journeys.rule_for(status)
    return rule is not None and rule.final


@dataclass(frozen=True)
class Thread:
    """A case's golden thread, as the columns of its row hold it."""

    open: bool
    opened_at: datetime  # the start of the current open period
    dark_since: datetime
    promise: timedelta | None
    breached_at: datetime | None = None  # this dark stretch's recorded breach, if any
    last_contact: Contact | None = None

    @property
    def deadline(self) -> datetime | None:
        """When the promise breaks, while the case is open and has one."""
        if not self.open or self.promise is None:
            return None
        return self.dark_since + self.promise

    @property
    def breach_due(self) -> datetime | None:
        """When the breach is due to be recorded: None once it was, in this stretch."""
        return self.deadline if self.breached_at is None else None

    def dark_seconds(self, now: datetime) -> float | None:
        if not self.open:
            return None
        return max(0.0, (now - self.dark_since).total_seconds())

    def breached(self, now: datetime) -> bool:
        # From the deadline on: the instant the clock finds the breach due, it is one.
        deadline = self.deadline
        return deadline is not None and now >= deadline


def opened(journeys: Journeys, status: str, received_at: datetime) -> Thread:
    """The thread of a case its first event creates."""
    return Thread(
        open=not is_final(journeys, status),
        opened_at=received_at,
        dark_since=received_at,
        promise=promise_for(journeys, status),
    )


def after_status(thread: Thread, journeys: Journeys, status: str, at: datetime) -> Thread:
    """The thread once the case moved to `status` (received at `at`)."""
    promise = promise_for(journeys, status)
    if is_final(journeys, status):
        return replace(thread, open=False, promise=promise, breached_at=None)
    if not thread.open:  # reopened: a new dark stretch starts now
        return replace(thread, open=True, opened_at=at, dark_since=at, promise=promise)
    return replace(thread, promise=promise)


def after_event(
    thread: Thread | None, journeys: Journeys, status: str, received_at: datetime
) -> Thread:
    if thread is None:
        return opened(journeys, status, received_at)
    return after_status(thread, journeys, status, received_at)


def after_contact(thread: Thread, contact: Contact) -> Thread:
    """A contact ends the dark stretch (and its breach) and starts the next one."""
    if contact.at < thread.dark_since:
        return thread  # an older contact reported late changes nothing
    if contact.at == thread.dark_since:
        # At the very instant the stretch began (two contacts at once, or one reported
        # twice): the stretch goes on, and a breach already recorded in it stands.
        return replace(thread, last_contact=contact)
    return replace(thread, dark_since=contact.at, breached_at=None, last_contact=contact)


def closed_stretch(thread: Thread, contact: Contact) -> timedelta | None:
    """How long the dark stretch `contact` ends lasted (None on a closed case)."""
    if not thread.open or contact.at < thread.dark_since:
        return None
    return contact.at - thread.dark_since


def after_breach(thread: Thread, at: datetime) -> Thread:
    """The breach of the current stretch is recorded (`at`: when it was recorded)."""
    return replace(thread, breached_at=at)


def rank(count: int, quantile: float) -> int:
    """The 0-based position of the `quantile` (nearest rank) among `count` sorted values:
    every reader (SQL offset, memory, simulator) picks the same case."""
    if count <= 0:
        raise ValueError("no values")
    return max(0, min(count - 1, -(-int(quantile * 1000) * count // 1000) - 1))
