"""Claiming due notifications with a fenced lease, and applying what became of them."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, bindparam, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import (
    Customer,
    NotificationKind,
    NotificationState,
    Priority,
    as_utc,
)
from groundcontrol.planning import status_callbacks as status
from groundcontrol.planning.callbacks import CallbackRoutes, CaseRef
from groundcontrol.planning.rows import Entry
from groundcontrol.planning.transitions import (
    ATTEMPT_OUTCOME,
    NOT_ATTEMPTED,
    decision_changes,
    failure,
    outcome_entry,
)
from groundcontrol.store.contract import Claim, Decision, DecisionKind
from groundcontrol.store.sql import callback_outbox
from groundcontrol.store.sql.contacts import record_contacts, sent_contacts
from groundcontrol.store.sql.dialect import Dialect, once_per_dialect
from groundcontrol.store.sql.rows import to_case, to_customer
from groundcontrol.store.sql.schema import (
    attempts,
    cases,
    customers,
    events,
    notifications,
    timeline,
)
from groundcontrol.store.sql.timeline import add_timeline

PENDING = NotificationState.PENDING.value
SENDING = NotificationState.SENDING.value
RELEASED = "shutdown before sending"


@once_per_dialect
def due_candidates(dialect: Dialect) -> Select[Any]:
    """Up to `:limit` ids of due work at `:now` in claim order (priority, then due time):
    pending and due, or in flight under a lease that has expired (a crashed worker).

    Read as short index ranges, each stopping after `limit` rows, then merged: pending
    rows per priority from ix_notifications_due (state, priority, due_at), expired leases
    from ix_notifications_lease (state, lease_expires_at). One OR over both states with
    a sort read every pending row for each claim, so a backlog of N made every claim
    cost O(N) (store/sql/partitioned.py merges pages the same way)."""
    n = notifications.c
    wanted = (n.id, n.state, n.priority, n.due_at)
    now = bindparam("now", type_=n.due_at.type)
    limit = bindparam("limit", type_=Integer)

    def branch(order: Any, *where: Any) -> Select[Any]:
        ranged = select(*wanted).where(*where).order_by(order).limit(limit)
        return select(dialect.claim_rows(ranged).subquery())

    pending = [
        branch(n.due_at, n.state == PENDING, n.priority == int(p), n.due_at <= now)
        for p in Priority
    ]
    expired = branch(n.lease_expires_at, n.state == SENDING, n.lease_expires_at < now)
    merged = union_all(*pending, expired).subquery()
    return (
        select(merged.c.id, merged.c.state)
        .order_by(merged.c.priority, merged.c.due_at)
        .limit(limit)
    )


async def claim_due(
    conn: AsyncConnection,
    dialect: Dialect,
    now: datetime,
    limit: int,
    owner: str,
    lease: timedelta,
    routes: CallbackRoutes,
) -> list[Claim]:
    picked = (await conn.execute(due_candidates(dialect), {"now": now, "limit": limit})).all()
    if not picked:
        return []
    expired = [row.id for row in picked if row.state == SENDING]
    if expired:
        await _expire_attempts(conn, expired, now)
    leases = {"ids": [row.id for row in picked], "owner": owner, "until": now + lease, "now": now}
    claimed = await conn.execute(_lease_update(), leases)
    versions = {row.id: (row.lease_version, row.attempts) for row in claimed}
    await conn.execute(
        attempts.insert(),
        [
            {
                "notification_id": nid,
                "number": number,
                "lease_version": version,
                "owner": owner,
                "started_at": now,
                "outcome": "in_flight",
                "detail": "",
            }
            for nid, (version, number) in versions.items()
        ],
    )
    loaded = await _load_claims(conn, versions)
    if status.wanted(routes):
        before = {row.id: row.state for row in picked}
        changes = [status.claimed(claim, before[claim.notification_id]) for claim in loaded]
        await callback_outbox.tell_changes(conn, routes, changes, now, case_refs(loaded))
    return loaded


@functools.cache
def _lease_update() -> Any:
    """Built once, like the candidates: it runs on every claim."""
    return (
        update(notifications)
        .where(notifications.c.id.in_(bindparam("ids", expanding=True)))
        .values(
            state=SENDING,
            lease_owner=bindparam("owner"),
            lease_expires_at=bindparam("until"),
            lease_version=notifications.c.lease_version + 1,
            attempts=notifications.c.attempts + 1,
            updated_at=bindparam("now"),
        )
        .returning(notifications.c.id, notifications.c.lease_version, notifications.c.attempts)
    )


def case_refs(claimed: Sequence[Claim]) -> dict[str, CaseRef]:
    """The claims' cases as callbacks need them: the claims carry them, nothing to read."""
    return {claim.case.id: CaseRef.of(claim.case) for claim in claimed}


async def _expire_attempts(conn: AsyncConnection, ids: list[str], now: datetime) -> None:
    await conn.execute(
        update(attempts)
        .where(attempts.c.notification_id.in_(ids), attempts.c.outcome == "in_flight")
        .values(outcome="lease_expired", finished_at=now, detail="lease expired: worker lost")
    )


@functools.cache
def _claims_query() -> Select[Any]:
    """Built once: a join of about sixty labelled columns took longer to build (and to
    derive its cache key) on each claim than to run, when claims are small."""
    n, c, cu = notifications, cases.alias("c"), customers.alias("cu")
    columns: list[Any] = [n]
    columns += [col.label(f"c__{col.name}") for col in c.c]
    columns += [col.label(f"u__{col.name}") for col in cu.c]
    return (
        select(*columns, events.c.payload.label("event_payload"))
        .select_from(
            n.join(c, c.c.id == n.c.case_id)
            .join(cu, cu.c.id == n.c.customer_id)
            .outerjoin(events, events.c.pk == c.c.last_event_pk)
        )
        .where(n.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(n.c.priority, n.c.due_at)
    )


async def _load_claims(conn: AsyncConnection, versions: dict[str, tuple[int, int]]) -> list[Claim]:
    rows = (await conn.execute(_claims_query(), {"ids": list(versions)})).mappings().all()
    return [
        Claim(
            notification_id=row["id"],
            lease_version=versions[row["id"]][0],
            attempt=versions[row["id"]][1],
            kind=NotificationKind(row["kind"]),
            template=row["template"],
            status=row["status"],
            channel=row["channel"],
            priority=Priority(row["priority"]),
            message_key=row["message_key"],
            case=to_case(row, prefix="c__"),
            customer=to_customer(row, prefix="u__"),
            event=row["event_payload"] or {},
            tried_channels=tuple(row["tried_channels"] or ()),
            due_at=as_utc(row["due_at"]),
            created_at=as_utc(row["created_at"]),
        )
        for row in rows
    ]


# --- finishing ------------------------------------------------------------------------


async def finish_one(
    conn: AsyncConnection, claim: Claim, decision: Decision, now: datetime
) -> list[Entry] | None:
    """Apply one decision, fenced by the claim's lease version: the timeline entries it
    wrote, or None when it was refused."""
    values = _notification_changes(decision, now)
    fenced = await conn.execute(
        update(notifications)
        .where(
            notifications.c.id == claim.notification_id,
            notifications.c.lease_version == claim.lease_version,
            notifications.c.state == SENDING,
        )
        .values(**values)
        .returning(notifications.c.id)
    )
    if fenced.scalar() is None:
        await _mark_attempt(conn, claim, "fenced", "late result refused: lease lost", None, now)
        return None
    outcome = ATTEMPT_OUTCOME[decision.kind]
    await _mark_attempt(conn, claim, outcome, decision.detail, decision.provider_id, now)
    entries = await _consequences(conn, claim, decision, now)
    await add_timeline(conn, claim.case.id, now, entries)
    return entries


async def finish_many(
    conn: AsyncConnection,
    dialect: Dialect,
    results: Sequence[tuple[Claim, Decision]],
    now: datetime,
    routes: CallbackRoutes,
) -> list[bool]:
    """Apply decisions, each fenced by its claim's lease; one bool per decision, in order.
    Plain sends go first and share a few statements per batch: one statement per row
    per table is what bounded delivery throughput."""
    sent = [(i, c, d) for i, (c, d) in enumerate(results) if d.kind is DecisionKind.SENT]
    written: list[list[Entry] | None] = [None] * len(results)
    accepted = await _finish_sent(conn, dialect, sent, now)
    for (i, _, _), ok in zip(sent, accepted, strict=True):
        written[i] = [] if ok else None
    for i, (claim, decision) in enumerate(results):
        if decision.kind is not DecisionKind.SENT:
            written[i] = await finish_one(conn, claim, decision, now)
    if status.wanted(routes):
        changes = _finished_changes(results, written, now)
        refs = case_refs([claim for claim, _ in results])
        await callback_outbox.tell_changes(conn, routes, changes, now, refs)
    return [entries is not None for entries in written]


def _finished_changes(
    results: Sequence[tuple[Claim, Decision]],
    written: Sequence[list[Entry] | None],
    now: datetime,
) -> list[status.StateChange]:
    """Each applied decision's change, then the fallback it created, in decision order."""
    changes: list[status.StateChange] = []
    for (claim, decision), entries in zip(results, written, strict=True):
        if entries is not None:
            changes += [
                status.decided(claim, decision, now),
                *status.created_in(claim.case.id, entries),
            ]
    return changes


async def _finish_sent(
    conn: AsyncConnection,
    dialect: Dialect,
    sent: Sequence[tuple[int, Claim, Decision]],
    now: datetime,
) -> list[bool]:
    if not sent:
        return []
    held = await _held_leases(conn, dialect, [claim for _, claim, _ in sent])
    accepted = [held.get(c.notification_id) == c.lease_version for _, c, _ in sent]
    mine = [(c, d) for (_, c, d), ok in zip(sent, accepted, strict=True) if ok]
    for (_, claim, _), ok in zip(sent, accepted, strict=True):
        if not ok:
            await _mark_attempt(conn, claim, "fenced", "late result refused: lease lost", None, now)
    if mine:
        await _record_sends(conn, mine, now)
    return accepted


async def _held_leases(
    conn: AsyncConnection, dialect: Dialect, claimed: Sequence[Claim]
) -> dict[str, int]:
    """Lease versions of the rows still in flight, locked until commit."""
    ids = [c.notification_id for c in claimed]
    rows = await conn.execute(_held_leases_query(dialect), {"ids": ids})
    return {row.id: row.lease_version for row in rows}


@once_per_dialect
def _held_leases_query(dialect: Dialect) -> Select[Any]:
    return dialect.lock_row(
        select(notifications.c.id, notifications.c.lease_version).where(
            notifications.c.id.in_(bindparam("ids", expanding=True)),
            notifications.c.state == SENDING,
        )
    )


async def _record_sends(
    conn: AsyncConnection, mine: Sequence[tuple[Claim, Decision]], now: datetime
) -> None:
    """Rows already fenced by `_held_leases`: one executemany per table."""
    await conn.execute(
        _sent_notifications(),
        [
            {
                "b_id": c.notification_id,
                "b_provider": d.provider_id,
                "b_segments": d.segments,
                "b_now": now,
            }
            for c, d in mine
        ],
    )
    await conn.execute(
        _sent_attempts(),
        [
            {
                "b_id": c.notification_id,
                "b_version": c.lease_version,
                "b_detail": d.detail,
                "b_provider": d.provider_id,
                "b_now": now,
            }
            for c, d in mine
        ],
    )
    await record_contacts(conn, sent_contacts([c for c, _ in mine], now), message=True)
    await conn.execute(timeline.insert(), [_sent_entry(c, d, now) for c, d in mine])


@functools.cache
def _sent_notifications() -> Any:
    return (
        update(notifications)
        .where(notifications.c.id == bindparam("b_id"))
        .values(
            state=NotificationState.SENT.value,
            provider_id=bindparam("b_provider"),
            segments=bindparam("b_segments"),
            sent_at=bindparam("b_now"),
            last_error=None,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=bindparam("b_now"),
        )
    )


@functools.cache
def _sent_attempts() -> Any:
    return (
        update(attempts)
        .where(
            attempts.c.notification_id == bindparam("b_id"),
            attempts.c.lease_version == bindparam("b_version"),
        )
        .values(
            outcome=ATTEMPT_OUTCOME[DecisionKind.SENT],
            detail=bindparam("b_detail"),
            provider_id=bindparam("b_provider"),
            finished_at=bindparam("b_now"),
        )
    )


def _sent_entry(claim: Claim, decision: Decision, now: datetime) -> dict[str, Any]:
    kind, nid, detail = outcome_entry(claim, decision)
    return {
        "case_id": claim.case.id,
        "at": now,
        "kind": kind,
        "notification_id": nid,
        "detail": detail,
    }


def _notification_changes(decision: Decision, now: datetime) -> dict[str, Any]:
    changes = decision_changes(decision, now)
    changes["state"] = changes["state"].value
    if decision.kind in NOT_ATTEMPTED:
        changes["attempts"] = notifications.c.attempts - 1
    return changes


async def _mark_attempt(
    conn: AsyncConnection,
    claim: Claim,
    outcome: str,
    detail: str,
    provider_id: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        update(attempts)
        .where(
            attempts.c.notification_id == claim.notification_id,
            attempts.c.lease_version == claim.lease_version,
        )
        .values(outcome=outcome, detail=detail, provider_id=provider_id, finished_at=now)
    )


async def _consequences(
    conn: AsyncConnection, claim: Claim, decision: Decision, now: datetime
) -> list[Entry]:
    if decision.kind is DecisionKind.SENT:
        await record_contacts(conn, sent_contacts([claim], now), message=True)
    if decision.kind is DecisionKind.FAIL:
        return await _fail(conn, claim, decision, now)
    return [outcome_entry(claim, decision)]


async def _fail(
    conn: AsyncConnection, claim: Claim, decision: Decision, now: datetime
) -> list[Entry]:
    if decision.opt_out or decision.disable_address:
        await _forget_channel(conn, claim, decision, now)
    entries, fallback = failure(claim, decision, now)
    if fallback is not None:
        await conn.execute(notifications.insert(), [fallback])
    return entries


async def _forget_channel(
    conn: AsyncConnection, claim: Claim, decision: Decision, now: datetime
) -> None:
    """The provider says this address is unusable: remember it on the customer."""
    customer = claim.customer
    row = (
        (await conn.execute(select(customers).where(customers.c.id == customer.id)))
        .mappings()
        .first()
    )
    current: Customer = to_customer(row) if row else customer
    changes: dict[str, Any] = {"updated_at": now}
    if decision.opt_out:
        changes["opted_out"] = sorted(current.opted_out | {claim.channel})
    if decision.disable_address and claim.channel == "chat":
        changes["chat_webhook"] = None
    await conn.execute(update(customers).where(customers.c.id == customer.id).values(**changes))


async def release_one(
    conn: AsyncConnection, claim: Claim, now: datetime, routes: CallbackRoutes
) -> None:
    released = await conn.execute(
        update(notifications)
        .where(
            notifications.c.id == claim.notification_id,
            notifications.c.lease_version == claim.lease_version,
            notifications.c.state == SENDING,
        )
        .values(
            state=PENDING,
            lease_owner=None,
            lease_expires_at=None,
            attempts=notifications.c.attempts - 1,
            updated_at=now,
        )
        .returning(notifications.c.id)
    )
    if released.scalar() is None:
        return
    await _mark_attempt(conn, claim, "released", RELEASED, None, now)
    if status.wanted(routes):
        changes = [status.released(claim, RELEASED)]
        await callback_outbox.tell_changes(conn, routes, changes, now, case_refs([claim]))
