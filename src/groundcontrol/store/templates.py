"""Template persistence on the store contract: published overrides, shared drafts, test
sends. The values, and the protocol every store's `templates()` answers with.

Every publish appends a version; the newest version of a template file is the
override the renderer reads in front of `templates/`. Drafts never affect sending.
Drafts and publishes are guarded by optimistic version checks, so two people editing
one template get an `EditConflict` instead of silently overwriting each other.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from groundcontrol.domain import CHANNELS, CaseState, ChannelName, Customer
from groundcontrol.errors import GroundControlError

TEST_CASE_PREFIX = "studio-test-"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$")
_LOCALE = re.compile(r"^(?:[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)?$")

TestSend = tuple[datetime, str, dict[str, Any]]  # at, kind, detail
Unfollow = Callable[[], Awaitable[object]]


class EditConflict(GroundControlError):
    """Someone else changed this template since you opened it."""


@dataclass(frozen=True, order=True)
class TemplateKey:
    """One template file: `case_received/sms.nl.j2` is (case_received, sms, nl)."""

    name: str
    channel: ChannelName
    locale: str = ""  # "" for the default file

    @property
    def file(self) -> str:
        suffix = f".{self.locale}" if self.locale else ""
        return f"{self.name}/{self.channel}{suffix}.j2"

    @classmethod
    def parse(cls, file: str) -> TemplateKey:
        """`case_received/sms.nl.j2` -> TemplateKey; ValueError for anything else."""
        name, _, rest = file.removesuffix(".j2").partition("/")
        channel, _, locale = rest.partition(".")
        valid = _NAME.match(name) and channel in CHANNELS and _LOCALE.match(locale)
        if not file.endswith(".j2") or not valid:
            raise ValueError(f"{file!r} is not a message template file")
        return cls(name, cast(ChannelName, channel), locale)


@dataclass(frozen=True)
class TemplateVersion:
    """One published version of a template file."""

    key: TemplateKey
    version: int
    source: str
    author: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class Draft:
    """The shared unpublished draft of a template file."""

    key: TemplateKey
    source: str
    revision: int
    author: str
    updated_at: datetime


@dataclass(frozen=True)
class RecentCase:
    case: CaseState
    customer: Customer
    event: Mapping[str, Any]


class TemplateStore(Protocol):
    """What the studio, the renderer's override layer and `templates import` need."""

    async def published(self) -> dict[str, str]:
        """The source of every overridden file, newest version, by loader name."""
        ...

    async def overrides(self) -> list[TemplateVersion]:
        """The newest version of every overridden file, sorted by file."""
        ...

    async def current(self, key: TemplateKey) -> TemplateVersion | None:
        """The published version in use, or None while the file under templates/ is."""
        ...

    async def history(self, key: TemplateKey) -> list[TemplateVersion]:
        """Every published version, newest first."""
        ...

    async def version(self, key: TemplateKey, number: int) -> TemplateVersion | None: ...

    async def draft(self, key: TemplateKey) -> Draft | None: ...

    async def drafts(self) -> list[Draft]: ...

    async def save_draft(
        self, key: TemplateKey, source: str, author: str, expected_revision: int, now: datetime
    ) -> Draft:
        """Save the shared draft; `expected_revision` is the one the editor opened
        (0 when there was no draft). EditConflict when someone saved in between."""
        ...

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
        ...

    async def restore(
        self, key: TemplateKey, number: int, author: str, expected_version: int, now: datetime
    ) -> TemplateVersion:
        """Publish the source of version `number` again, as a new version."""
        ...

    async def import_files(self, sources: dict[str, str], author: str, now: datetime) -> int:
        """Publish each changed file as a new version; how many were published."""
        ...

    async def record_test_send(
        self, key: TemplateKey, at: datetime, kind: str, detail: dict[str, Any]
    ) -> str:
        """Append a test send to the synthetic case `studio-test-<name>`; its id."""
        ...

    async def test_sends(self, key: TemplateKey, limit: int = 10) -> list[TestSend]:
        """The newest test sends of this template's name: (at, kind, detail)."""
        ...

    async def recent_cases(self, statuses: Collection[str], limit: int) -> list[RecentCase]:
        """The newest real cases now in one of `statuses`, for previews."""
        ...

    async def sign_out(self, nonce: str, expires_at: datetime, now: datetime) -> None:
        """End the studio session with this nonce on every instance (until `expires_at`,
        when its cookie expires anyway); forget sign-outs already past theirs."""

    async def signed_out(self, nonce: str) -> bool:
        """Whether the session with this nonce was signed out."""

    async def follow(self, on_publish: Callable[[], None]) -> Unfollow | None:
        """Call `on_publish` whenever another instance publishes; returns how to stop,
        or None where no other instance can publish (one process)."""
        ...


def expect(what: str, actual: int, expected: int, holder: TemplateVersion | Draft | None) -> None:
    """The optimistic check: EditConflict unless `actual` is what the editor opened."""
    if actual == expected:
        return
    who = f" by {holder.author}" if holder is not None else ""
    raise EditConflict(
        f"this template changed since you opened it: {what} is now {actual}{who}, "
        f"you opened {expected}"
    )


async def restore(
    store: TemplateStore,
    key: TemplateKey,
    number: int,
    author: str,
    expected_version: int,
    now: datetime,
) -> TemplateVersion:
    """Publish the source of version `number` again, as a new version."""
    old = await store.version(key, number)
    if old is None:
        raise LookupError(f"{key.file} has no version {number}")
    return await store.publish(
        key, old.source, author, expected_version, now, note=f"restored version {number}"
    )


async def import_files(
    store: TemplateStore, sources: dict[str, str], author: str, now: datetime
) -> int:
    """Publish each changed file as a new version; how many were published."""
    published = 0
    for file, source in sorted(sources.items()):
        key = TemplateKey.parse(file)
        current = await store.current(key)
        if current is not None and current.source == source:
            continue
        expected = current.version if current else 0
        await store.publish(key, source, author, expected, now, note="imported")
        published += 1
    return published
