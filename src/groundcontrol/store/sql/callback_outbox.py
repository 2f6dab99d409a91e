"""The callbacks outbox (SQL engines): claimed with a fenced lease like notifications,
retried at the delivery policy's times, dead when no attempt is left, re-drivable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, tuple_, update
from sqlalchemy.engine import Dialect as SqlDialect
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import as_utc
from groundcontrol.planning.callbacks import CallbackRoutes, CaseRef, entry_callbacks
from groundcontrol.planning.rows import Entry
from groundcontrol.planning.status_callbacks import StateChange, status_callbacks, wanted
from groundcontrol.store.callback_views import (
    DEAD,
    PENDING,
    SENDING,
    SENT,
    STATES,
    CallbackClaim,
    CallbackFilter,
    CallbackOutcome,
    CallbackPage,
    CallbackView,
    timeline_entry,
)
from groundcontrol.store.sql.dialect import Dialect
from groundcontrol.store.sql.partitioned import insertion_order, merged_page
from groundcontrol.store.sql.schema import callbacks, cases
from groundcontrol.store.sql.timeline import add_timeline


async def insert(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(callbacks.insert(), list(rows))


async def tell_entries(
    conn: AsyncConnection,
    routes: CallbackRoutes,
    case_id: str,
    entries: Sequence[Entry],
    now: datetime,
) -> None:
    """The callbacks the timeline entries just written call for (planning.callbacks),
    in the same transaction. Reads the case only when an entry calls for one."""
    if not any(kind == "unreachable" for kind, _, _ in entries):
        return
    query = select(cases.c.customer_id, cases.c.status, cases.c.source).where(cases.c.id == case_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return
    case = CaseRef(case_id, row.customer_id, row.status, row.source)
    await insert(conn, entry_callbacks(routes, case, entries, now))


async def tell_changes(
    conn: AsyncConnection,
    routes: CallbackRoutes,
    changes: Sequence[StateChange],
    now: datetime,
    cases: Mapping[str, CaseRef] | None = None,
) -> None:
    """The `notification.status` callbacks for `changes`, in the same transaction. Reads
    the cases' sources (unless the caller knows them) only when some source opted in."""
    if not changes or not wanted(routes):
        return
    known = cases if cases is not None else await case_refs(conn, {c.case_id for c in changes})
    await insert(conn, status_callbacks(routes, changes, known, now))


async def case_refs(conn: AsyncConnection, case_ids: set[str]) -> dict[str, CaseRef]:
    query = select(cases.c.id, cases.c.customer_id, cases.c.status, cases.c.source).where(
        cases.c.id.in_(sorted(case_ids))
    )
    return {
        row.id: CaseRef(row.id, row.customer_id, row.status, row.source)
        for row in await conn.execute(query)
    }


def _due(now: datetime) -> Any:
    return or_(
        and_(callbacks.c.state == PENDING, callbacks.c.due_at <= now),
        and_(callbacks.c.state == SENDING, callbacks.c.lease_expires_at < now),
    )


async def claim(
    conn: AsyncConnection,
    dialect: Dialect,
    now: datetime,
    limit: int,
    owner: str,
    lease: timedelta,
) -> list[CallbackClaim]:
    # Picked in a statement of its own: as a subquery of the UPDATE, PostgreSQL may run
    # the LIMITed, SKIP LOCKED pick more than once and claim more than `limit` rows.
    query = dialect.claim_rows(
        select(callbacks.c.id).where(_due(now)).order_by(callbacks.c.due_at, callbacks.c.id)
    )
    picked = list((await conn.execute(query.limit(limit))).scalars())
    if not picked:
        return []
    claimed = await conn.execute(
        update(callbacks)
        .where(callbacks.c.id.in_(picked), _due(now))
        .values(
            state=SENDING,
            lease_owner=owner,
            lease_expires_at=now + lease,
            lease_version=callbacks.c.lease_version + 1,
            attempts=callbacks.c.attempts + 1,
            updated_at=now,
        )
        .returning(callbacks)
    )
    order = {callback_id: n for n, callback_id in enumerate(picked)}
    return [
        CallbackClaim(
            row.id, row.source, row.type, row.case_id, row.body, row.attempts, row.lease_version
        )
        for row in sorted(claimed, key=lambda row: order[row.id])
    ]


async def finish(
    conn: AsyncConnection, claimed: CallbackClaim, outcome: CallbackOutcome, now: datetime
) -> bool:
    """Apply one attempt's outcome, fenced by its lease version. False: refused."""
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None, "updated_at": now}
    if outcome.sent:
        values |= {"state": SENT, "sent_at": now, "last_error": None}
    elif outcome.retry_at is not None:
        values |= {"state": PENDING, "due_at": outcome.retry_at, "last_error": outcome.detail}
    else:
        values |= {"state": DEAD, "last_error": outcome.detail}
    done = await conn.execute(
        update(callbacks)
        .where(
            callbacks.c.id == claimed.id,
            callbacks.c.lease_version == claimed.lease_version,
            callbacks.c.state == SENDING,
        )
        .values(**values)
    )
    if not done.rowcount:
        return False
    await add_timeline(conn, claimed.case_id, now, [timeline_entry(claimed, outcome)])
    return True


def _newest_first(c: Any) -> list[Any]:
    return [c.updated_at.desc()]


def listed_query(state: str | None, limit: int, dialect: SqlDialect) -> Select[Any]:
    """Newest first by updated_at, from ix_callbacks_finished (state, updated_at): one
    range for a state, one per state merged for all (a sort of the whole table before,
    whose order of ties `insertion_order` keeps)."""
    if state is not None:
        return (
            select(callbacks)
            .where(callbacks.c.state == state)
            .order_by(*_newest_first(callbacks.c))
            .limit(limit)
        )
    ties = insertion_order(callbacks, dialect)
    return merged_page(callbacks, callbacks.c.state, STATES, [], _newest_first, limit, ties)


async def listed(conn: AsyncConnection, state: str | None, limit: int) -> list[CallbackView]:
    query = listed_query(state, limit, conn.dialect)
    return [_view(row) for row in await conn.execute(query)]


async def page(conn: AsyncConnection, where: CallbackFilter) -> CallbackPage:
    """Newest first by creation time, then id: a keyset page (rows never move in it)."""
    c = callbacks.c
    conditions = [
        column == value
        for column, value in (
            (c.state, where.state),
            (c.type, where.type),
            (c.source, where.source),
        )
        if value is not None
    ]
    if where.after is not None:
        position = tuple_(where.after.created_at, where.after.callback_id)
        conditions.append(tuple_(c.created_at, c.id) < position)
    query = (
        select(callbacks)
        .where(*conditions)
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(where.limit + 1)
    )
    views = [_view(row) for row in await conn.execute(query)]
    return CallbackPage.cut(views, where.limit)


async def one(conn: AsyncConnection, callback_id: str) -> CallbackView | None:
    row = (await conn.execute(select(callbacks).where(callbacks.c.id == callback_id))).first()
    return _view(row) if row is not None else None


def _view(row: Any) -> CallbackView:
    return CallbackView(
        row.id,
        row.source,
        row.type,
        row.case_id,
        row.state,
        row.attempts,
        as_utc(row.due_at),
        row.last_error,
        row.body,
        as_utc(row.created_at),
        as_utc(row.updated_at),
    )


async def redrive(conn: AsyncConnection, callback_id: str, now: datetime) -> bool:
    row = (
        await conn.execute(
            update(callbacks)
            .where(callbacks.c.id == callback_id, callbacks.c.state == DEAD)
            .values(state=PENDING, due_at=now, attempts=0, updated_at=now)
            .returning(callbacks.c.case_id, callbacks.c.type)
        )
    ).first()
    if row is None:
        return False
    detail = {"callback_id": callback_id, "type": row.type}
    await add_timeline(conn, row.case_id, now, [("callback_redriven", None, detail)])
    return True


def earliest_due() -> tuple[Any, Any]:
    """The two subqueries next_due_at adds: pending callbacks' due times, expired leases."""
    return (
        select(func.min(callbacks.c.due_at)).where(callbacks.c.state == PENDING),
        select(func.min(callbacks.c.lease_expires_at)).where(callbacks.c.state == SENDING),
    )
