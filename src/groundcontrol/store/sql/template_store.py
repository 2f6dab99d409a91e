"""Published template overrides and shared drafts in the SQL tables (the meaning is
`store/templates.py`'s). On PostgreSQL a publish notifies every instance (`NOTIFY
groundcontrol_templates`, delivered at commit) so their caches drop.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Row, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import ChannelName, as_utc
from groundcontrol.store.sql.rows import to_case, to_customer
from groundcontrol.store.sql.schema import (
    cases,
    customers,
    events,
    studio_sign_outs,
    template_drafts,
    template_versions,
    timeline,
)
from groundcontrol.store.sql.timeline import add_timeline
from groundcontrol.store.templates import (
    TEST_CASE_PREFIX,
    Draft,
    RecentCase,
    TemplateKey,
    TemplateVersion,
    TestSend,
    Unfollow,
    expect,
    import_files,
    restore,
)

NOTIFY_CHANNEL = "groundcontrol_templates"


class SqlTransactions(Protocol):
    """What the template tables need of the SQL store (`SqlStore` has it)."""

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]: ...

    def write(self) -> AbstractAsyncContextManager[AsyncConnection]: ...

    async def subscribe(self, channel: str, callback: Callable[[], None]) -> Unfollow | None: ...


class SqlTemplateStore:
    """A `TemplateStore` over a `SqlStore`'s transactions."""

    def __init__(self, store: SqlTransactions) -> None:
        self._store = store

    async def published(self) -> dict[str, str]:
        """The source of every overridden file, newest version, by loader name."""
        return {v.key.file: v.source for v in await self.overrides()}

    async def overrides(self) -> list[TemplateVersion]:
        """The newest version of every overridden file, sorted by file."""
        newest = (
            select(
                template_versions.c.name,
                template_versions.c.channel,
                template_versions.c.locale,
                func.max(template_versions.c.version).label("version"),
            )
            .group_by(
                template_versions.c.name, template_versions.c.channel, template_versions.c.locale
            )
            .subquery()
        )
        query = select(template_versions).join(
            newest,
            (template_versions.c.name == newest.c.name)
            & (template_versions.c.channel == newest.c.channel)
            & (template_versions.c.locale == newest.c.locale)
            & (template_versions.c.version == newest.c.version),
        )
        async with self._store.read() as conn:
            rows = (await conn.execute(query)).all()
        return sorted((_version(row) for row in rows), key=lambda v: v.key)

    async def current(self, key: TemplateKey) -> TemplateVersion | None:
        """The published version in use, or None while the file under templates/ is."""
        async with self._store.read() as conn:
            return await _newest(conn, key)

    async def history(self, key: TemplateKey) -> list[TemplateVersion]:
        """Every published version, newest first."""
        query = (
            select(template_versions)
            .where(*_matches(template_versions, key))
            .order_by(template_versions.c.version.desc())
        )
        async with self._store.read() as conn:
            return [_version(row) for row in (await conn.execute(query)).all()]

    async def version(self, key: TemplateKey, number: int) -> TemplateVersion | None:
        query = select(template_versions).where(
            *_matches(template_versions, key), template_versions.c.version == number
        )
        async with self._store.read() as conn:
            row = (await conn.execute(query)).first()
        return _version(row) if row is not None else None

    async def draft(self, key: TemplateKey) -> Draft | None:
        async with self._store.read() as conn:
            return await _draft(conn, key)

    async def drafts(self) -> list[Draft]:
        async with self._store.read() as conn:
            rows = (await conn.execute(select(template_drafts))).all()
        return sorted((_to_draft(row) for row in rows), key=lambda d: d.key)

    async def save_draft(
        self, key: TemplateKey, source: str, author: str, expected_revision: int, now: datetime
    ) -> Draft:
        """Save the shared draft; `expected_revision` is the one the editor opened
        (0 when there was no draft). EditConflict when someone saved in between."""
        async with self._store.write() as conn:
            current = await _draft(conn, key)
            expect("draft revision", current.revision if current else 0, expected_revision, current)
            values = {"source": source, "author": author, "updated_at": now}
            if current is None:
                await conn.execute(
                    template_drafts.insert().values(**_key_values(key), revision=1, **values)
                )
            else:
                await conn.execute(
                    update(template_drafts)
                    .where(*_matches(template_drafts, key))
                    .values(revision=current.revision + 1, **values)
                )
            return Draft(key, source, expected_revision + 1, author, now)

    async def publish(
        self,
        key: TemplateKey,
        source: str,
        author: str,
        expected_version: int,
        now: datetime,
        *,
        expected_revision: int | None = None,
        note: str = "",
    ) -> TemplateVersion:
        """Publish `source` as the next version and drop the draft. `expected_version`
        is the published version the editor opened (0 for the file); with
        `expected_revision`, a draft someone saved meanwhile is a conflict too."""
        async with self._store.write() as conn:
            newest = await _newest(conn, key)
            expect("published version", newest.version if newest else 0, expected_version, newest)
            if expected_revision is not None:
                draft = await _draft(conn, key)
                expect("draft revision", draft.revision if draft else 0, expected_revision, draft)
            published = TemplateVersion(key, expected_version + 1, source, author, note, now)
            await conn.execute(
                template_versions.insert().values(
                    **_key_values(key),
                    version=published.version,
                    source=source,
                    author=author,
                    note=note,
                    created_at=now,
                )
            )
            await conn.execute(delete(template_drafts).where(*_matches(template_drafts, key)))
            await _notify(conn, key.file)
        return published

    async def restore(
        self, key: TemplateKey, number: int, author: str, expected_version: int, now: datetime
    ) -> TemplateVersion:
        return await restore(self, key, number, author, expected_version, now)

    async def import_files(self, sources: dict[str, str], author: str, now: datetime) -> int:
        return await import_files(self, sources, author, now)

    async def sign_out(self, nonce: str, expires_at: datetime, now: datetime) -> None:
        async with self._store.write() as conn:
            await conn.execute(delete(studio_sign_outs).where(studio_sign_outs.c.expires_at <= now))
            await conn.execute(delete(studio_sign_outs).where(studio_sign_outs.c.nonce == nonce))
            await conn.execute(studio_sign_outs.insert().values(nonce=nonce, expires_at=expires_at))

    async def signed_out(self, nonce: str) -> bool:
        query = select(studio_sign_outs.c.nonce).where(studio_sign_outs.c.nonce == nonce)
        async with self._store.read() as conn:
            return (await conn.execute(query)).first() is not None

    async def record_test_send(
        self, key: TemplateKey, at: datetime, kind: str, detail: dict[str, Any]
    ) -> str:
        """Append a test send to the synthetic case `studio-test-<name>`; its id."""
        case_id = f"{TEST_CASE_PREFIX}{key.name}"
        async with self._store.write() as conn:
            await _ensure_test_case(conn, case_id, at)
            await add_timeline(conn, case_id, at, [(kind, None, {**detail, "test": True})])
        return case_id

    async def recent_cases(self, statuses: Collection[str], limit: int) -> list[RecentCase]:
        """The newest real cases now in one of `statuses`, for previews (studio tests
        excluded): the case, its customer and its latest event, as the store has them."""
        if not statuses or limit < 1:
            return []
        case_columns = [c.label(f"case_{c.name}") for c in cases.c]
        query = (
            select(customers, *case_columns, events.c.payload.label("event"))
            .select_from(
                cases.join(customers, customers.c.id == cases.c.customer_id).outerjoin(
                    events, events.c.pk == cases.c.last_event_pk
                )
            )
            .where(cases.c.status.in_(list(statuses)), ~cases.c.id.startswith(TEST_CASE_PREFIX))
            .order_by(cases.c.updated_at.desc())
            .limit(limit)
        )
        async with self._store.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            RecentCase(to_case(row, prefix="case_"), to_customer(row), row["event"] or {})
            for row in rows
        ]

    async def test_sends(self, key: TemplateKey, limit: int = 10) -> list[TestSend]:
        """The newest test sends of this template's name: (at, kind, detail)."""
        query = (
            select(timeline.c.at, timeline.c.kind, timeline.c.detail)
            .where(timeline.c.case_id == f"{TEST_CASE_PREFIX}{key.name}")
            .order_by(timeline.c.id.desc())
            .limit(limit)
        )
        async with self._store.read() as conn:
            return [
                (as_utc(r.at), r.kind, dict(r.detail)) for r in (await conn.execute(query)).all()
            ]

    async def follow(self, on_publish: Callable[[], None]) -> Unfollow | None:
        return await self._store.subscribe(NOTIFY_CHANNEL, on_publish)


async def _notify(conn: AsyncConnection, file: str) -> None:
    if conn.dialect.name == "postgresql":
        # Inside the transaction: PostgreSQL delivers it only if the publish commits.
        await conn.execute(
            text("SELECT pg_notify(:channel, :file)"), {"channel": NOTIFY_CHANNEL, "file": file}
        )


async def _ensure_test_case(conn: AsyncConnection, case_id: str, at: datetime) -> None:
    exists = await conn.scalar(select(cases.c.id).where(cases.c.id == case_id))
    if exists is not None:
        return
    # A case row of its own makes test sends readable on GET /v1/cases/{id}/timeline;
    # no customer and no event point at it, so nothing is ever planned for it.
    await conn.execute(
        cases.insert().values(
            id=case_id,
            customer_id="studio",
            status="studio_test",
            previous_status=None,
            status_at=at,
            sequence=None,
            priority=0,
            data={},
            last_event_pk=None,
            last_message_at=None,
            created_at=at,
            updated_at=at,
            is_open=False,  # a test send is not a contact, and this is no customer's case
        )
    )


async def _newest(conn: AsyncConnection, key: TemplateKey) -> TemplateVersion | None:
    query = (
        select(template_versions)
        .where(*_matches(template_versions, key))
        .order_by(template_versions.c.version.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return _version(row) if row is not None else None


async def _draft(conn: AsyncConnection, key: TemplateKey) -> Draft | None:
    row = (
        await conn.execute(select(template_drafts).where(*_matches(template_drafts, key)))
    ).first()
    return _to_draft(row) if row is not None else None


def _matches(table: Any, key: TemplateKey) -> Sequence[Any]:
    return (table.c.name == key.name, table.c.channel == key.channel, table.c.locale == key.locale)


def _key_values(key: TemplateKey) -> dict[str, str]:
    return {"name": key.name, "channel": key.channel, "locale": key.locale}


def _key(row: Row[Any]) -> TemplateKey:
    return TemplateKey(row.name, cast(ChannelName, row.channel), row.locale)


def _version(row: Row[Any]) -> TemplateVersion:
    return TemplateVersion(
        _key(row), row.version, row.source, row.author, row.note, as_utc(row.created_at)
    )


def _to_draft(row: Row[Any]) -> Draft:
    return Draft(_key(row), row.source, row.revision, row.author, as_utc(row.updated_at))
