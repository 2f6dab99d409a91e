"""The nouns of Ground Control: events, customers, cases, notifications and their states.

Plain frozen values, no I/O. Times are always timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from groundcontrol.planning.golden_thread import Thread

ChannelName = Literal["email", "sms", "chat"]
CHANNELS: tuple[ChannelName, ...] = get_args(ChannelName)


# What every part of the flow reads the time from: injected, so tests fix it.
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Priority(IntEnum):
    """Lower sorts first: the dispatcher serves urgent before low."""

    URGENT = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3

    @classmethod
    def parse(cls, name: str) -> Priority:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(
                f"unknown priority {name!r}: use low, normal, high or urgent"
            ) from None

    @property
    def label(self) -> str:
        return self.name.lower()


class NotificationState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    DEAD = "dead"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"


# States a notification never leaves (callbacks aside, which only refine sent).
FINAL_STATES = frozenset(
    {
        NotificationState.DELIVERED,
        NotificationState.UNDELIVERED,
        NotificationState.FAILED,
        NotificationState.DEAD,
        NotificationState.SUPERSEDED,
        NotificationState.CANCELLED,
    }
)


class NotificationKind(StrEnum):
    STATUS = "status"
    FOLLOW_UP = "follow_up"
    TEST = "test"


@dataclass(frozen=True)
class Customer:
    id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None  # E.164
    chat_webhook: str | None = None
    locale: str | None = None
    timezone: str | None = None
    channels: tuple[ChannelName, ...] = ()
    opted_out: frozenset[ChannelName] = frozenset()
    # The customer's own choices (the case page), kept when the back office updates them:
    # the order they want channels tried in (empty: the back office's `channels` order)
    # and whether quiet hours hold their messages at night.
    channel_order: tuple[ChannelName, ...] = ()
    quiet_hours: bool = True

    @property
    def preferred_channels(self) -> tuple[ChannelName, ...]:
        """`channels`, in the customer's own order where they chose one."""
        chosen = [c for c in self.channel_order if c in self.channels]
        return (*chosen, *(c for c in self.channels if c not in chosen))

    def keeping_choices_of(self, previous: Customer) -> Customer:
        """This customer with the opt-outs and preferences `previous` holds: those are
        the customer's, and the back office's updates never undo them."""
        return replace(
            self,
            opted_out=previous.opted_out,
            channel_order=previous.channel_order,
            quiet_hours=previous.quiet_hours,
        )

    def address(self, channel: ChannelName) -> str | None:
        return {"email": self.email, "sms": self.phone, "chat": self.chat_webhook}[channel]

    def can_receive(self, channel: ChannelName) -> bool:
        return channel not in self.opted_out and bool(self.address(channel))

    def public_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "chat_webhook": self.chat_webhook,
            "locale": self.locale,
            "timezone": self.timezone,
            "channels": list(self.channels),
            "opted_out": sorted(self.opted_out),
            "channel_order": list(self.channel_order),
            "quiet_hours": self.quiet_hours,
        }


@dataclass(frozen=True)
class CustomerPatch:
    """An inline customer in an event: only the fields given are upserted."""

    id: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, current: Customer | None) -> Customer:
        base = current or Customer(id=self.id)
        values = {**base.public_dict(), **self.fields}
        return Customer(
            id=self.id,
            name=values["name"],
            email=values["email"],
            phone=values["phone"],
            chat_webhook=values["chat_webhook"],
            locale=values["locale"],
            timezone=values["timezone"],
            channels=tuple(values["channels"]),
            opted_out=frozenset(values.get("opted_out") or ()),
            channel_order=tuple(values.get("channel_order") or ()),
            quiet_hours=bool(values.get("quiet_hours", True)),
        )


@dataclass(frozen=True)
class Event:
    """A case status change posted by a workflow system, already validated."""

    source: str
    id: str
    case_id: str
    status: str
    occurred_at: datetime
    customer: CustomerPatch
    priority: Priority | None = None
    sequence: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    body_hash: str = ""  # sha256 of the canonical body: same id + other body is a conflict


@dataclass(frozen=True)
class CaseState:
    """What the store knows of a case before an event is applied."""

    id: str
    customer_id: str
    status: str
    previous_status: str | None
    status_at: datetime
    sequence: int | None
    priority: Priority
    data: Mapping[str, Any]
    last_message_at: datetime | None = None
    source: str | None = None  # of the latest event
    thread: Thread | None = None  # None only for cases older than the golden thread


@dataclass(frozen=True)
class RenderedMessage:
    """What a template produced for one channel."""

    text: str
    subject: str | None = None  # email only
    html: str | None = None  # email only, optional


class IngestStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # same (source, id), same body: the first result again
    CONFLICT = "conflict"  # same (source, id), other body: 409
    UNKNOWN_CUSTOMER = "unknown_customer"  # {"id": ...} only, and no such customer: 422


@dataclass(frozen=True)
class IngestResult:
    status: IngestStatus
    event_id: str  # the source's id, echoed
    outcome: str = ""  # planning.plan.Outcome value of the first recording
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
    invalid_address: bool = False  # FAIL: the back office should fix the address
    outcome_unknown: bool = False  # RETRY: the provider may have sent it (possible duplicate)
