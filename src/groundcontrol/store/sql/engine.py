"""The SQL store: one implementation of the Store contract over SQLAlchemy Core async.

Engine differences live in small hooks (`store/sql/dialect.py`, and the SQLite and
PostgreSQL subclasses in `store/sql/sqlite.py`, `store/sql/postgres.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from groundcontrol.domain import (
    CaseState,
    ChannelName,
    Customer,
    Event,
    NotificationState,
    Priority,
    as_utc,
)
from groundcontrol.planning.callbacks import failure_callbacks
from groundcontrol.planning.golden_thread import Contact
from groundcontrol.planning.promises import QuietWindow
from groundcontrol.planning.status_callbacks import opted_out, redriven, wanted
from groundcontrol.planning.transitions import counts_as_attempt, preferences_entry
from groundcontrol.store.callback_views import (
    CallbackClaim,
    CallbackFilter,
    CallbackOutcome,
    CallbackPage,
    CallbackView,
)
from groundcontrol.store.case_views import (
    Breach,
    CaseFilter,
    CasePage,
    CaseView,
    GoldenThreadSummary,
    breach_callbacks,
)
from groundcontrol.store.contract import (
    Claim,
    Decision,
    IngestResult,
    NotificationFilter,
    NotificationView,
    Planner,
    RetentionReport,
    StoreBase,
    TimelineEntry,
)
from groundcontrol.store.sql import (
    batch_recording,
    callback_outbox,
    case_reads,
    claims,
    contacts,
    followups,
    migrate,
    notification_list,
    recording,
    releases,
    retention,
    thread_summary,
)
from groundcontrol.store.sql.callbacks import apply_provider_status
from groundcontrol.store.sql.dialect import Dialect
from groundcontrol.store.sql.outage import unavailable_as_domain
from groundcontrol.store.sql.rows import (
    to_attempt,
    to_case,
    to_customer,
    to_notification,
    to_timeline,
)
from groundcontrol.store.sql.schema import (
    attempts,
    cases,
    customers,
    events,
    follow_ups,
    notifications,
    timeline,
)
from groundcontrol.store.sql.template_store import SqlTemplateStore
from groundcontrol.store.sql.thread_rows import from_epoch
from groundcontrol.store.sql.timeline import Entry, add_timeline
from groundcontrol.store.templates import TemplateStore, Unfollow

T = TypeVar("T")


def _regrouped(
    results: Sequence[IngestResult], groups: Sequence[Sequence[Event]]
) -> list[list[IngestResult] | Exception]:
    """Flat results cut back into one list per group."""
    regrouped: list[list[IngestResult] | Exception] = []
    offset = 0
    for group in groups:
        regrouped.append(list(results[offset : offset + len(group)]))
        offset += len(group)
    return regrouped


_REDRIVABLE = (NotificationState.DEAD.value, NotificationState.FAILED.value)
# How often a batch is recorded again after losing a race with another instance.
RACE_ATTEMPTS = 3


def _earliest_due() -> Select[Any]:
    """The next due time of every kind of timed work, as one row of minimums (the
    breach deadline last, in epoch seconds); built once, as the dispatcher reads it
    after every tick and building it cost more than running it."""
    n = notifications.c
    pending, sending = NotificationState.PENDING.value, NotificationState.SENDING.value
    earliest = (
        # Per priority: ix_notifications_due (state, priority, due_at) answers each
        # with one seek, where a minimum over the state read every pending row.
        *(
            select(func.min(n.due_at)).where(n.state == pending, n.priority == int(p))
            for p in Priority
        ),
        select(func.min(follow_ups.c.due_at)).where(follow_ups.c.state == "pending"),
        select(func.min(n.lease_expires_at)).where(n.state == sending),
        *callback_outbox.earliest_due(),
        select(func.min(cases.c.breach_due_epoch)),
    )
    return select(*(q.scalar_subquery() for q in earliest))


_EARLIEST = _earliest_due()


async def _earliest_row(conn: AsyncConnection) -> tuple[Any, ...]:
    return tuple((await conn.execute(_EARLIEST)).one())


class SqlStore(StoreBase):
    """Shared bookkeeping; subclasses build the engine and may add engine features."""

    dialect: Dialect

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # --- lifecycle --------------------------------------------------------------------
    async def open(self) -> None:
        await migrate.upgrade(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction; committed when the block exits cleanly."""
        async with unavailable_as_domain(), self.engine.begin() as conn:
            yield conn

    async def transact(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`fn(conn)` in one write transaction, committed when it returns. Engines may
        run the whole of `fn` elsewhere (SQLite: on its writer thread, one hop per
        transaction), so `fn` runs statements on `conn` and awaits nothing else."""
        async with self.write() as conn:
            return await fn(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with unavailable_as_domain(), self.engine.connect() as conn:
            yield conn

    async def query(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`fn(conn)` as one read; a store may run it in one hop (SQLite's reader thread),
        so `fn` only executes statements."""
        async with self.read() as conn:
            return await fn(conn)

    async def wake_others(self, conn: AsyncConnection, kind: str) -> None:
        """Hook, inside a write transaction: when it commits, tell other instances that
        something became due (PostgreSQL NOTIFY). One process (SQLite) has no others."""

    async def purge(self, horizon: datetime) -> RetentionReport:
        return await retention.purge(self, horizon)

    def _new_templates(self) -> TemplateStore:
        return SqlTemplateStore(self)

    async def subscribe(self, channel: str, callback: Callable[[], None]) -> Unfollow | None:
        """Hook: call `callback` on each NOTIFY on `channel` from any instance; returns
        how to stop. One process (SQLite) has no other instance: None."""
        return None

    # --- ingest -------------------------------------------------------------------------
    async def record_events(
        self, events: Sequence[Event], planner: Planner, now: datetime
    ) -> list[IngestResult]:
        for _ in range(RACE_ATTEMPTS - 1):
            with suppress(IntegrityError):
                return await self._record_batch(events, planner, now)
            # Another instance recorded one of these event ids or created one of these
            # cases since we read: the next attempt reads and plans against its rows.
        return await self._record_batch(events, planner, now)

    async def _record_batch(
        self, events: Sequence[Event], planner: Planner, now: datetime
    ) -> list[IngestResult]:
        async def record(conn: AsyncConnection) -> list[IngestResult]:
            results = await batch_recording.record_batch(
                conn, self.dialect, events, planner, now, self.callback_routes
            )
            await self.wake_others(conn, "events")
            return results

        return await self.transact(record)

    async def record_events_each(
        self, groups: Sequence[Sequence[Event]], planner: Planner, now: datetime
    ) -> list[list[IngestResult] | Exception]:
        async def record(conn: AsyncConnection) -> list[list[IngestResult] | Exception]:
            outcomes = await self._bisected(conn, groups, planner, now)
            await self.wake_others(conn, "events")
            return outcomes

        return await self.transact(record)

    async def _bisected(
        self,
        conn: AsyncConnection,
        groups: Sequence[Sequence[Event]],
        planner: Planner,
        now: datetime,
    ) -> list[list[IngestResult] | Exception]:
        """Record the groups under one savepoint; if that fails, roll back to it and
        record each half the same way, down to the groups that fail alone. The batch
        SQL stays in use (row by row was ten times slower), and it is all one commit.
        A group that lost a race with another instance fails here like a poison one:
        its caller gets the error and may send again (a duplicate then, never lost)."""
        try:
            async with conn.begin_nested():
                events = [event for group in groups for event in group]
                results = await batch_recording.record_batch(
                    conn, self.dialect, events, planner, now, self.callback_routes
                )
        except Exception as exc:  # rolled back to the savepoint: only these groups undone
            if len(groups) == 1:
                return [exc]
            middle = len(groups) // 2
            return [
                *await self._bisected(conn, groups[:middle], planner, now),
                *await self._bisected(conn, groups[middle:], planner, now),
            ]
        return _regrouped(results, groups)

    # --- customers ----------------------------------------------------------------------
    async def put_customer(self, customer: Customer, now: datetime) -> None:
        async with self.write() as conn:
            await recording.upsert_customer(conn, self.dialect, customer, now)

    async def get_customer(self, customer_id: str) -> Customer | None:
        async with self.read() as conn:
            return await recording.load_customer(conn, customer_id)

    async def find_customer_by_phone(self, phone: str) -> list[Customer]:
        async with self.read() as conn:
            rows = (
                await conn.execute(select(customers).where(customers.c.phone == phone))
            ).mappings()
            return [to_customer(row) for row in rows]

    async def set_opt_out(
        self, customer_id: str, channel: ChannelName, opted_out: bool, reason: str, now: datetime
    ) -> int:
        async with self.write() as conn:
            customer = await recording.load_customer(conn, customer_id)
            if customer is None:
                return 0
            chosen = customer.opted_out | {channel} if opted_out else customer.opted_out - {channel}
            await conn.execute(
                update(customers)
                .where(customers.c.id == customer_id)
                .values(opted_out=sorted(chosen), updated_at=now)
            )
            cancelled = (
                await self._cancel_channel(conn, customer_id, channel, now) if opted_out else []
            )
            await self._note_opt_change(conn, customer_id, channel, opted_out, reason, now)
            for case_id, entries in cancelled:
                await add_timeline(conn, case_id, now, entries)
        return len(cancelled)

    async def _cancel_channel(
        self, conn: AsyncConnection, customer_id: str, channel: str, now: datetime
    ) -> list[tuple[str, list[Entry]]]:
        rows = await conn.execute(
            update(notifications)
            .where(
                notifications.c.customer_id == customer_id,
                notifications.c.channel == channel,
                notifications.c.state == NotificationState.PENDING.value,
            )
            .values(state=NotificationState.CANCELLED.value, updated_at=now)
            .returning(notifications.c.id, notifications.c.case_id, notifications.c.attempts)
        )
        cancelled = sorted(rows.all(), key=lambda row: row.id)
        changes = [opted_out(row.id, row.case_id, channel, row.attempts) for row in cancelled]
        await callback_outbox.tell_changes(conn, self.callback_routes, changes, now)
        return [(c.case_id, [("cancelled", c.notification_id, c.detail())]) for c in changes]

    async def _note_opt_change(
        self,
        conn: AsyncConnection,
        customer_id: str,
        channel: str,
        opted_out: bool,
        reason: str,
        now: datetime,
    ) -> None:
        case_ids = (
            await conn.execute(select(cases.c.id).where(cases.c.customer_id == customer_id))
        ).scalars()
        kind = "opted_out" if opted_out else "opted_in"
        for case_id in case_ids:
            await add_timeline(
                conn, case_id, now, [(kind, None, {"channel": channel, "reason": reason})]
            )

    # --- the case page --------------------------------------------------------------------
    async def get_case_state(self, case_id: str) -> CaseState | None:
        async with self.read() as conn:
            row = (await conn.execute(select(cases).where(cases.c.id == case_id))).mappings()
            found = row.first()
        return to_case(found) if found else None

    async def set_preferences(
        self,
        customer_id: str,
        channel_order: Sequence[ChannelName],
        quiet_hours: bool,
        now: datetime,
    ) -> bool:
        async with self.write() as conn:
            changed = await conn.execute(
                update(customers)
                .where(customers.c.id == customer_id)
                .values(channel_order=list(channel_order), quiet_hours=quiet_hours, updated_at=now)
            )
            if not changed.rowcount:
                return False
            entry = preferences_entry(channel_order, quiet_hours)
            for case_id in await self._case_ids(conn, customer_id):
                await add_timeline(conn, case_id, now, [entry])
            if not quiet_hours and await releases.release_quiet_deferrals(conn, now, customer_id):
                await self.wake_others(conn, "notifications")
        return True

    async def _case_ids(self, conn: AsyncConnection, customer_id: str) -> list[str]:
        query = select(cases.c.id).where(cases.c.customer_id == customer_id)
        return list((await conn.execute(query)).scalars())

    # --- time -----------------------------------------------------------------------------
    async def fire_due_follow_ups(
        self, now: datetime, limit: int, quiet: QuietWindow | None = None
    ) -> int:
        async def fire(conn: AsyncConnection) -> int:
            return await followups.fire_due(
                conn, self.dialect, self.callback_routes, now, limit, quiet
            )

        return await self.transact(fire)

    async def next_due_at(self) -> datetime | None:
        row = await self.query(_earliest_row)  # one round trip for all of them
        *times, breach_due = row
        known = [as_utc(t) for t in times if t is not None]
        if breach_due is not None:
            known.append(from_epoch(breach_due))
        return min(known) if known else None

    # --- dispatch ---------------------------------------------------------------------------
    async def claim_due(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[Claim]:
        async def claim(conn: AsyncConnection) -> list[Claim]:
            return await claims.claim_due(
                conn, self.dialect, now, limit, owner, lease, self.callback_routes
            )

        return await self.transact(claim)

    async def finish(self, results: Sequence[tuple[Claim, Decision]], now: datetime) -> list[bool]:
        async def record(conn: AsyncConnection) -> list[bool]:
            done = await claims.finish_many(conn, self.dialect, results, now, self.callback_routes)
            told = [
                row
                for (claim, decision), ok in zip(results, done, strict=True)
                if ok
                for row in failure_callbacks(self.callback_routes, claim, decision, now)
            ]
            await callback_outbox.insert(conn, told)
            if any(d.fallback_channel or d.kind.value in ("retry", "defer") for _, d in results):
                await self.wake_others(conn, "notifications")
            return done

        return await self.transact(record)

    async def release(self, claimed: Sequence[Claim], now: datetime) -> None:
        async def release(conn: AsyncConnection) -> None:
            for claim in claimed:
                await claims.release_one(conn, claim, now, self.callback_routes)

        await self.transact(release)

    async def recent_sends(self, customer_id: str, since: datetime) -> list[datetime]:
        """When this customer's messages were sent since `since` (for frequency caps)."""
        query = select(notifications.c.sent_at).where(
            notifications.c.customer_id == customer_id, notifications.c.sent_at >= since
        )
        async with self.read() as conn:
            return [as_utc(t) for t in (await conn.execute(query)).scalars()]

    # --- callbacks ---------------------------------------------------------------------------
    async def record_provider_status(
        self, provider_id: str, state: NotificationState, detail: str, now: datetime
    ) -> bool:
        async with self.write() as conn:
            changed = await apply_provider_status(
                conn, self.callback_routes, provider_id, state, detail, now
            )
            if changed:
                await self.wake_others(conn, "notifications")
        return changed

    # --- read side ---------------------------------------------------------------------------
    async def timeline(self, case_id: str) -> list[TimelineEntry] | None:
        async with self.read() as conn:
            exists = await conn.scalar(select(cases.c.id).where(cases.c.id == case_id))
            if exists is None:
                return None
            query = select(timeline).where(timeline.c.case_id == case_id).order_by(timeline.c.id)
            return [to_timeline(row) for row in (await conn.execute(query)).mappings()]

    async def get_notification(self, notification_id: str) -> NotificationView | None:
        async with self.read() as conn:
            row = (
                (
                    await conn.execute(
                        select(notifications).where(notifications.c.id == notification_id)
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            log_query = (
                select(attempts)
                .where(attempts.c.notification_id == notification_id)
                .order_by(attempts.c.id)
            )
            rows = (await conn.execute(log_query)).mappings()
            log = tuple(to_attempt(a) for a in rows if counts_as_attempt(a["outcome"]))
            return to_notification(row, log)

    async def list_notifications(self, where: NotificationFilter) -> list[NotificationView]:
        async with self.read() as conn:
            query = notification_list.list_query(where, conn.dialect)
            return [to_notification(row) for row in (await conn.execute(query)).mappings()]

    async def redrive(self, notification_id: str, now: datetime) -> bool:
        async with self.write() as conn:
            before = await self._state_before(conn, notification_id)
            row = (
                await conn.execute(
                    update(notifications)
                    .where(
                        notifications.c.id == notification_id,
                        notifications.c.state.in_(_REDRIVABLE),
                    )
                    .values(
                        state=NotificationState.PENDING.value,
                        due_at=now,
                        attempts=0,
                        updated_at=now,
                    )
                    .returning(
                        notifications.c.case_id, notifications.c.channel, notifications.c.last_error
                    )
                )
            ).first()
            if row is None:
                return False
            detail: dict[str, Any] = {"previous_error": row.last_error}
            await add_timeline(conn, row.case_id, now, [("redriven", notification_id, detail)])
            change = redriven(notification_id, row.case_id, row.channel, before, row.last_error)
            await callback_outbox.tell_changes(conn, self.callback_routes, [change], now)
            await self.wake_others(conn, "notifications")
        return True

    async def _state_before(self, conn: AsyncConnection, notification_id: str) -> str | None:
        """A notification's state before a change, read only for `notification.status`
        (an UPDATE's RETURNING tells the new state, not the old)."""
        if not wanted(self.callback_routes):
            return None
        query = select(notifications.c.state).where(notifications.c.id == notification_id)
        return await conn.scalar(query)

    async def send_now(self, notification_id: str, now: datetime) -> bool:
        async with self.write() as conn:
            released = await releases.send_now(conn, notification_id, now)
            if released:
                await self.wake_others(conn, "notifications")
        return released

    async def release_quiet_deferrals(self, now: datetime, customer_id: str | None = None) -> int:
        async with self.write() as conn:
            count = await releases.release_quiet_deferrals(conn, now, customer_id)
            if count:
                await self.wake_others(conn, "notifications")
        return count

    async def state_counts(self) -> dict[str, int]:
        query = select(notifications.c.state, func.count()).group_by(notifications.c.state)
        async with self.read() as conn:
            return {state: count for state, count in (await conn.execute(query)).all()}

    async def delivery_counts(self) -> dict[tuple[str, str], int]:
        n = notifications.c
        query = select(n.channel, n.state, func.count()).group_by(n.channel, n.state)
        async with self.read() as conn:
            return {(ch, st): count for ch, st, count in (await conn.execute(query)).all()}

    async def statuses_without_rule(self, limit: int) -> list[tuple[str, int]]:
        count = func.count().label("n")
        query = (
            select(events.c.status, count)
            .where(events.c.outcome == "no_rule")
            .group_by(events.c.status)
            .order_by(count.desc(), events.c.status)
            .limit(limit)
        )
        async with self.read() as conn:
            return [(status, n) for status, n in (await conn.execute(query)).all()]

    # --- the golden thread -----------------------------------------------------------------
    async def record_contact(self, case_id: str, contact: Contact) -> bool:
        async with self.write() as conn:
            done = await conn.execute(
                contacts.contact_statement(message=False),
                contacts.contact_params(case_id, contact),
            )
            if not done.rowcount:
                return False
            detail = {"kind": contact.kind.value, "channel": contact.channel}
            await add_timeline(conn, case_id, contact.at, [(contact.kind.value, None, detail)])
        return True

    async def fire_due_breaches(self, now: datetime, limit: int) -> list[Breach]:
        async def fire(conn: AsyncConnection) -> list[Breach]:
            found = await contacts.record_due_breaches(conn, self.dialect, now, limit)
            rows = breach_callbacks(self.callback_routes, found, now)
            await callback_outbox.insert(conn, rows)
            if rows:
                await self.wake_others(conn, "callbacks")
            return found

        return await self.transact(fire)

    async def fold_thread_counts(self) -> None:
        """Hook: fold what writers appended into the golden thread's counts before a
        read (PostgreSQL). SQLite's triggers keep the counts themselves."""

    async def thread_counts(self, now: datetime) -> tuple[int, int]:
        await self.fold_thread_counts()
        async with self.read() as conn:
            conn = await thread_summary.snapshot(conn)
            return await thread_summary.open_and_breached(conn, now)

    async def get_case(self, case_id: str) -> CaseView | None:
        async with self.read() as conn:
            return await case_reads.get_case(conn, case_id)

    async def list_cases(self, where: CaseFilter, now: datetime) -> CasePage:
        async with self.read() as conn:
            return await case_reads.list_cases(conn, where, now)

    async def golden_thread(self, now: datetime, window: timedelta) -> GoldenThreadSummary:
        await self.fold_thread_counts()
        async with self.read() as conn:
            conn = await thread_summary.snapshot(conn)
            return await thread_summary.summary(conn, now, window)

    # --- callbacks ---------------------------------------------------------------------------
    async def claim_callbacks(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[CallbackClaim]:
        async with self.write() as conn:
            return await callback_outbox.claim(conn, self.dialect, now, limit, owner, lease)

    async def finish_callback(
        self, claimed: CallbackClaim, outcome: CallbackOutcome, now: datetime
    ) -> bool:
        async with self.write() as conn:
            done = await callback_outbox.finish(conn, claimed, outcome, now)
            if done and outcome.retry_at is not None:
                await self.wake_others(conn, "callbacks")
        return done

    async def list_callbacks(self, state: str | None, limit: int) -> list[CallbackView]:
        async with self.read() as conn:
            return await callback_outbox.listed(conn, state, limit)

    async def page_callbacks(self, where: CallbackFilter) -> CallbackPage:
        async with self.read() as conn:
            return await callback_outbox.page(conn, where)

    async def get_callback(self, callback_id: str) -> CallbackView | None:
        async with self.read() as conn:
            return await callback_outbox.one(conn, callback_id)

    async def redrive_callback(self, callback_id: str, now: datetime) -> bool:
        async with self.write() as conn:
            done = await callback_outbox.redrive(conn, callback_id, now)
            if done:
                await self.wake_others(conn, "callbacks")
        return done
