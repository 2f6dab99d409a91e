"""Template persistence in memory: every store's default (`StoreBase.templates()`), so the
studio and the override layer work on the in-memory store too. Nothing survives the
process, and one process has no other instance to follow."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

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


class MemoryTemplates:
    """A `TemplateStore` in dictionaries."""

    def __init__(self) -> None:
        self._versions: dict[TemplateKey, list[TemplateVersion]] = {}  # oldest first
        self._drafts: dict[TemplateKey, Draft] = {}
        self._test_sends: dict[str, list[TestSend]] = {}  # by case id, oldest first
        self._sign_outs: dict[str, datetime] = {}  # nonce -> when its session expires

    async def sign_out(self, nonce: str, expires_at: datetime, now: datetime) -> None:
        self._sign_outs = {n: at for n, at in self._sign_outs.items() if at > now}
        self._sign_outs[nonce] = expires_at

    async def signed_out(self, nonce: str) -> bool:
        return nonce in self._sign_outs

    async def published(self) -> dict[str, str]:
        return {v.key.file: v.source for v in await self.overrides()}

    async def overrides(self) -> list[TemplateVersion]:
        return sorted((versions[-1] for versions in self._versions.values()), key=lambda v: v.key)

    async def current(self, key: TemplateKey) -> TemplateVersion | None:
        versions = self._versions.get(key)
        return versions[-1] if versions else None

    async def history(self, key: TemplateKey) -> list[TemplateVersion]:
        return list(reversed(self._versions.get(key, [])))

    async def version(self, key: TemplateKey, number: int) -> TemplateVersion | None:
        return next((v for v in self._versions.get(key, []) if v.version == number), None)

    async def draft(self, key: TemplateKey) -> Draft | None:
        return self._drafts.get(key)

    async def drafts(self) -> list[Draft]:
        return sorted(self._drafts.values(), key=lambda d: d.key)

    async def save_draft(
        self, key: TemplateKey, source: str, author: str, expected_revision: int, now: datetime
    ) -> Draft:
        current = self._drafts.get(key)
        expect("draft revision", current.revision if current else 0, expected_revision, current)
        saved = Draft(key, source, expected_revision + 1, author, now)
        self._drafts[key] = saved
        return saved

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
        newest = await self.current(key)
        expect("published version", newest.version if newest else 0, expected_version, newest)
        if expected_revision is not None:
            draft = self._drafts.get(key)
            expect("draft revision", draft.revision if draft else 0, expected_revision, draft)
        published = TemplateVersion(key, expected_version + 1, source, author, note, now)
        self._versions.setdefault(key, []).append(published)
        self._drafts.pop(key, None)
        return published

    async def restore(
        self, key: TemplateKey, number: int, author: str, expected_version: int, now: datetime
    ) -> TemplateVersion:
        return await restore(self, key, number, author, expected_version, now)

    async def import_files(self, sources: dict[str, str], author: str, now: datetime) -> int:
        return await import_files(self, sources, author, now)

    async def record_test_send(
        self, key: TemplateKey, at: datetime, kind: str, detail: dict[str, Any]
    ) -> str:
        case_id = f"{TEST_CASE_PREFIX}{key.name}"
        self._test_sends.setdefault(case_id, []).append((at, kind, {**detail, "test": True}))
        return case_id

    async def test_sends(self, key: TemplateKey, limit: int = 10) -> list[TestSend]:
        sends = self._test_sends.get(f"{TEST_CASE_PREFIX}{key.name}", [])
        return [(at, kind, dict(detail)) for at, kind, detail in reversed(sends)][:limit]

    async def recent_cases(self, statuses: Collection[str], limit: int) -> list[RecentCase]:
        # Real cases live in the store's own tables; the default keeps none to offer.
        return []

    async def follow(self, on_publish: Callable[[], None]) -> Unfollow | None:
        return None
