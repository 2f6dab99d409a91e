"""Callbacks to the source systems, as the store hands them to delivery and the read side."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
STATES = (PENDING, SENDING, SENT, DEAD)
FINISHED = (SENT, DEAD)  # delivered to the back office, or given up on: retention sweeps them


@dataclass(frozen=True)
class CallbackClaim:
    """A callback claimed for posting under a fenced lease."""

    id: str  # the webhook-id of every attempt
    source: str
    type: str
    case_id: str
    body: Mapping[str, Any]
    attempt: int
    lease_version: int


@dataclass(frozen=True)
class CallbackOutcome:
    """What became of one attempt: sent, retry at `retry_at`, or dead (no retry left)."""

    sent: bool
    detail: str = ""
    retry_at: datetime | None = None


@dataclass(frozen=True)
class CallbackView:
    id: str
    source: str
    type: str
    case_id: str
    state: str
    attempts: int
    due_at: datetime
    last_error: str | None
    body: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime

    def public_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "case_id": self.case_id,
            "state": self.state,
            "attempts": self.attempts,
            "due_at": self.due_at.isoformat(),
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "body": dict(self.body),
        }


@dataclass(frozen=True)
class CallbackCursor:
    """Keyset position: the last callback of the previous page (newest first)."""

    created_at: datetime
    callback_id: str


@dataclass(frozen=True)
class CallbackFilter:
    state: str | None = None
    type: str | None = None
    source: str | None = None
    limit: int = 50
    after: CallbackCursor | None = None


@dataclass(frozen=True)
class CallbackPage:
    items: list[CallbackView]
    next: CallbackCursor | None

    @classmethod
    def cut(cls, views: list[CallbackView], limit: int) -> CallbackPage:
        """The first `limit` of `views` (read one more than a page), and where the next
        page starts when there is one."""
        items = views[:limit]
        last = items[-1] if items and len(views) > limit else None
        return cls(items, CallbackCursor(last.created_at, last.id) if last else None)


def timeline_entry(
    claimed: CallbackClaim, outcome: CallbackOutcome
) -> tuple[str, None, dict[str, Any]]:
    """The case's timeline entry for one callback attempt (every engine writes the same)."""
    kind = (
        "callback_sent"
        if outcome.sent
        else "callback_retry"
        if outcome.retry_at
        else "callback_dead"
    )
    detail: dict[str, Any] = {
        "callback_id": claimed.id,
        "type": claimed.type,
        "source": claimed.source,
        "attempt": claimed.attempt,
    }
    if outcome.detail:
        detail["detail"] = outcome.detail
    if outcome.retry_at is not None:
        detail["next_attempt_at"] = outcome.retry_at.isoformat()
    return (kind, None, detail)
