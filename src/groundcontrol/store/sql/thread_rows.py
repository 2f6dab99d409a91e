"""A case's golden thread as columns of its row, and back (store/schema.py `cases`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from groundcontrol.domain import as_utc
from groundcontrol.planning.golden_thread import Contact, ContactKind, Thread


def epoch(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def thread_values(thread: Thread) -> dict[str, Any]:
    """Every thread column of the case row."""
    contact = thread.last_contact
    return {
        "is_open": thread.open,
        "opened_at": thread.opened_at,
        "dark_since": thread.dark_since,
        "promise_seconds": thread.promise.total_seconds() if thread.promise else None,
        "deadline_epoch": epoch(thread.deadline),
        "breach_due_epoch": epoch(thread.breach_due),
        "breached_at": thread.breached_at,
        "contact_at": contact.at if contact else None,
        "contact_kind": contact.kind.value if contact else None,
        "contact_channel": contact.channel if contact else None,
        "contact_notification_id": contact.notification_id if contact else None,
    }


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def to_thread(row: Mapping[Any, Any], prefix: str = "") -> Thread | None:
    def get(name: str) -> Any:
        return row.get(prefix + name)

    dark_since = _utc(get("dark_since"))
    if dark_since is None:
        return None
    seconds = get("promise_seconds")
    contact_at = _utc(get("contact_at"))
    contact = None
    if contact_at is not None:
        contact = Contact(
            contact_at,
            ContactKind(get("contact_kind")),
            get("contact_channel"),
            get("contact_notification_id"),
        )
    return Thread(
        open=bool(get("is_open")),
        opened_at=_utc(get("opened_at")) or dark_since,
        dark_since=dark_since,
        promise=timedelta(seconds=seconds) if seconds is not None else None,
        breached_at=_utc(get("breached_at")),
        last_contact=contact,
    )
