"""The callbacks outbox in memory: the same states, lease fencing and re-drive as
store/sql/callback_outbox.py, over plain dicts (the row a planner made)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from groundcontrol.store.callback_views import (
    DEAD,
    PENDING,
    SENDING,
    SENT,
    CallbackClaim,
    CallbackFilter,
    CallbackOutcome,
    CallbackPage,
    CallbackView,
)

Row = dict[str, Any]


def _due(row: Row, now: datetime) -> bool:
    if row["state"] == PENDING:
        return bool(row["due_at"] <= now)
    expires = row.get("lease_expires_at")
    return row["state"] == SENDING and expires is not None and expires < now


def claim(
    rows: Iterable[Row], now: datetime, limit: int, owner: str, lease: timedelta
) -> list[CallbackClaim]:
    picked = sorted((r for r in rows if _due(r, now)), key=lambda r: (r["due_at"], r["id"]))[:limit]
    for row in picked:
        row.update(
            state=SENDING,
            lease_owner=owner,
            lease_expires_at=now + lease,
            lease_version=row["lease_version"] + 1,
            attempts=row["attempts"] + 1,
            updated_at=now,
        )
    return [
        CallbackClaim(
            r["id"],
            r["source"],
            r["type"],
            r["case_id"],
            r["body"],
            r["attempts"],
            r["lease_version"],
        )
        for r in picked
    ]


def finish(
    row: Row | None, claimed: CallbackClaim, outcome: CallbackOutcome, now: datetime
) -> bool:
    if row is None or row["lease_version"] != claimed.lease_version or row["state"] != SENDING:
        return False
    row.update(lease_owner=None, lease_expires_at=None, updated_at=now)
    if outcome.sent:
        row.update(state=SENT, sent_at=now, last_error=None)
    elif outcome.retry_at is not None:
        row.update(state=PENDING, due_at=outcome.retry_at, last_error=outcome.detail)
    else:
        row.update(state=DEAD, last_error=outcome.detail)
    return True


def view(row: Row) -> CallbackView:
    return CallbackView(
        row["id"],
        row["source"],
        row["type"],
        row["case_id"],
        row["state"],
        row["attempts"],
        row["due_at"],
        row.get("last_error"),
        row["body"],
        row["created_at"],
        row["updated_at"],
    )


def page(rows: Iterable[Row], where: CallbackFilter) -> CallbackPage:
    """Newest first, like the SQL engines: by creation time, then id."""
    chosen = [r for r in rows if _matches(r, where)]
    chosen.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
    return CallbackPage.cut([view(r) for r in chosen[: where.limit + 1]], where.limit)


def _matches(row: Row, where: CallbackFilter) -> bool:
    wanted = {"state": where.state, "type": where.type, "source": where.source}
    if any(value is not None and row[name] != value for name, value in wanted.items()):
        return False
    after = where.after
    return after is None or (row["created_at"], row["id"]) < (after.created_at, after.callback_id)


def earliest(rows: Iterable[Row]) -> list[datetime]:
    times = []
    for row in rows:
        if row["state"] == PENDING:
            times.append(row["due_at"])
        elif row["state"] == SENDING and row.get("lease_expires_at") is not None:
            times.append(row["lease_expires_at"])
    return times
