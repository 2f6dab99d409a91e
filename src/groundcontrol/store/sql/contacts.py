"""Recording contacts and breaches on the case rows (SQL engines).

A contact rides in the statement that already touches the case when a message is sent;
the new deadline is computed from the row's own promise in that statement, so a status
change committed meanwhile is never overwritten with a stale promise.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import NotificationState, as_utc
from groundcontrol.planning.golden_thread import Contact, ContactKind, is_contact
from groundcontrol.store.case_views import Breach
from groundcontrol.store.contract import Claim
from groundcontrol.store.sql.dialect import Dialect, once_per_dialect
from groundcontrol.store.sql.schema import breaches, cases, timeline
from groundcontrol.store.sql.thread_rows import epoch, from_epoch

CaseContact = tuple[str, Contact]  # case id, the contact


def _deadline() -> Any:
    has_promise = and_(cases.c.is_open, cases.c.promise_seconds.is_not(None))
    return case((has_promise, bindparam("k_epoch") + cases.c.promise_seconds), else_=None)


@functools.cache
def contact_statement(*, message: bool) -> Any:
    """The UPDATE recording one contact per parameter set (executemany). `message`:
    the contact is a sent message, which the case's last_message_at also records.
    Built once: building it took longer than running it for a batch of sends."""
    # A contact at the instant the stretch began ends nothing (planning/golden_thread.py
    # `after_contact`): a breach already recorded in the stretch stands.
    same_instant = cases.c.dark_since == bindparam("k_at")
    values: dict[str, Any] = {
        "dark_since": bindparam("k_at"),
        "breached_at": case((same_instant, cases.c.breached_at), else_=None),
        "deadline_epoch": _deadline(),
        "breach_due_epoch": case((same_instant, cases.c.breach_due_epoch), else_=_deadline()),
        "contact_at": bindparam("k_at"),
        "contact_kind": bindparam("k_kind"),
        "contact_channel": bindparam("k_channel"),
        "contact_notification_id": bindparam("k_nid"),
    }
    if message:
        values["last_message_at"] = bindparam("k_at")
    # An older contact reported late (or a case without a thread yet) changes nothing.
    newer = or_(cases.c.dark_since.is_(None), cases.c.dark_since <= bindparam("k_at"))
    return update(cases).where(cases.c.id == bindparam("k_case"), newer).values(**values)


def contact_params(case_id: str, contact: Contact) -> dict[str, Any]:
    return {
        "k_case": case_id,
        "k_at": contact.at,
        "k_epoch": epoch(contact.at),
        "k_kind": contact.kind.value,
        "k_channel": contact.channel,
        "k_nid": contact.notification_id,
    }


async def record_contacts(
    conn: AsyncConnection, contacts: Sequence[CaseContact], *, message: bool
) -> None:
    if contacts:
        # Sorted by case id: a stable lock order for concurrent instances.
        params = [contact_params(c, contact) for c, contact in sorted(contacts, key=_by_case)]
        await conn.execute(contact_statement(message=message), params)


def _by_case(item: CaseContact) -> str:
    return item[0]


def sent_contacts(claims: Sequence[Claim], now: datetime) -> list[CaseContact]:
    """The contacts that sending these claims made (a studio test send makes none)."""
    return [
        (c.case.id, Contact(now, ContactKind.SENT, c.channel, c.notification_id))
        for c in claims
        if is_contact(c.kind, NotificationState.SENT)
    ]


BREACH_COLUMNS = (
    cases.c.id,
    cases.c.customer_id,
    cases.c.status,
    cases.c.source,
    cases.c.dark_since,
    cases.c.deadline_epoch,
)


async def record_due_breaches(
    conn: AsyncConnection, dialect: Dialect, now: datetime, limit: int
) -> list[Breach]:
    """Record the breach of every case whose promise broke by `now`, once per dark
    stretch: one UPDATE clears the rows' breach_due and returns only the rows it changed,
    so a row another instance recorded first is not recorded again (SKIP LOCKED only
    spares the wait)."""
    parameters = {"due_epoch": epoch(now), "limit": limit, "now": now}
    changed = await conn.execute(_breach_update(dialect), parameters)
    found = sorted((_breach(row) for row in changed), key=lambda b: (b.deadline, b.case_id))
    if found:
        await conn.execute(breaches.insert(), [b.row(now) for b in found])
        await conn.execute(timeline.insert(), [_timeline_row(b, now) for b in found])
    return found


def _timeline_row(breach: Breach, now: datetime) -> dict[str, Any]:
    kind, nid, detail = breach.entry()
    return {
        "case_id": breach.case_id,
        "at": now,
        "kind": kind,
        "notification_id": nid,
        "detail": detail,
    }


@once_per_dialect
def _breach_update(dialect: Dialect) -> Any:
    """The dispatcher runs it on every tick, mostly to find nothing."""
    due = cases.c.breach_due_epoch <= bindparam("due_epoch")
    picked = dialect.claim_rows(
        select(cases.c.id)
        .where(due)
        .order_by(cases.c.breach_due_epoch)
        .limit(bindparam("limit", type_=Integer))
    )
    return (
        update(cases)
        .where(cases.c.id.in_(picked.scalar_subquery()), due)
        .values(breach_due_epoch=None, breached_at=bindparam("now"))
        .returning(*BREACH_COLUMNS)
    )


def _breach(row: Any) -> Breach:
    deadline = from_epoch(row.deadline_epoch)
    return Breach(
        case_id=row.id,
        customer_id=row.customer_id,
        status=row.status,
        source=row.source,
        dark_since=as_utc(row.dark_since),
        deadline=deadline,
    )
