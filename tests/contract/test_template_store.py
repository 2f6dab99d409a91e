"""Template overrides in the store, on every engine: drafts and publishes are
version-checked, history is kept, restore publishes anew, and on PostgreSQL a
publish on one instance reaches another through NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jinja2
import pytest
from tests.peers.postgres import POSTGRES_URL, postgresql_param, schema_url

from groundcontrol.store import create_store
from groundcontrol.store.contract import Store
from groundcontrol.store.sql.engine import SqlStore
from groundcontrol.store.templates import EditConflict, TemplateKey, TemplateStore
from groundcontrol.templates.overrides import PublishedTemplates

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SMS = TemplateKey("case_received", "sms")
SMS_NL = TemplateKey("case_received", "sms", "nl")


@pytest.fixture(params=["memory", "sqlite", postgresql_param()])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "memory":
        yield "memory://"
        return
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'templates.db'}"
        return
    async with schema_url("gc_test") as schema:
        yield schema


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    store = create_store(url)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def templates(store: Store) -> TemplateStore:
    return store.templates()


def test_template_keys_name_their_file() -> None:
    assert SMS_NL.file == "case_received/sms.nl.j2"
    assert TemplateKey.parse("case_received/sms.nl.j2") == SMS_NL
    assert TemplateKey.parse("case_received/email.j2") == TemplateKey("case_received", "email")
    for bad in ("_layouts/email.j2", "x/fax.j2", "x/sms.NL!.j2", "x/sms", "../x/sms.j2"):
        with pytest.raises(ValueError, match="not a message template"):
            TemplateKey.parse(bad)


async def test_publish_appends_versions_and_the_newest_is_the_override(
    templates: TemplateStore,
) -> None:
    assert await templates.published() == {}
    first = await templates.publish(SMS, "one", "ada", 0, NOW)
    second = await templates.publish(SMS, "two", "bob", 1, NOW + timedelta(minutes=1))
    await templates.publish(SMS_NL, "een", "ada", 0, NOW)

    assert (first.version, second.version) == (1, 2)
    assert await templates.published() == {SMS.file: "two", SMS_NL.file: "een"}
    assert [v.version for v in await templates.history(SMS)] == [2, 1]
    current = await templates.current(SMS)
    assert current is not None
    assert (current.source, current.author, current.created_at) == ("two", "bob", second.created_at)


async def test_a_stale_publish_is_a_conflict_and_changes_nothing(templates: TemplateStore) -> None:
    await templates.publish(SMS, "mine", "ada", 0, NOW)
    with pytest.raises(EditConflict, match="published version is now 1 by ada"):
        await templates.publish(SMS, "theirs", "bob", 0, NOW)
    assert await templates.published() == {SMS.file: "mine"}


async def test_drafts_are_version_checked_and_dropped_by_publish(templates: TemplateStore) -> None:
    draft = await templates.save_draft(SMS, "draft 1", "ada", 0, NOW)
    assert draft.revision == 1
    with pytest.raises(EditConflict, match="draft revision is now 1"):
        await templates.save_draft(SMS, "stale", "bob", 0, NOW)
    await templates.save_draft(SMS, "draft 2", "ada", 1, NOW)
    assert await templates.published() == {}  # drafts never affect sending

    with pytest.raises(EditConflict):
        await templates.publish(SMS, "stale", "bob", 0, NOW, expected_revision=1)
    await templates.publish(SMS, "draft 2", "ada", 0, NOW, expected_revision=2)
    assert await templates.draft(SMS) is None
    assert await templates.published() == {SMS.file: "draft 2"}


async def test_restore_publishes_an_old_version_again(templates: TemplateStore) -> None:
    await templates.publish(SMS, "good", "ada", 0, NOW)
    await templates.publish(SMS, "bad", "bob", 1, NOW)
    restored = await templates.restore(SMS, 1, "ada", 2, NOW)

    assert (restored.version, restored.source, restored.note) == (3, "good", "restored version 1")
    assert await templates.published() == {SMS.file: "good"}
    with pytest.raises(LookupError):
        await templates.restore(SMS, 9, "ada", 3, NOW)


async def test_import_publishes_only_changed_files(templates: TemplateStore) -> None:
    files = {SMS.file: "a", SMS_NL.file: "b"}
    assert await templates.import_files(files, "cli", NOW) == 2
    assert await templates.import_files({**files, SMS.file: "c"}, "cli", NOW) == 1
    assert [v.version for v in await templates.history(SMS)] == [2, 1]


async def test_test_sends_are_on_their_own_case_timeline(templates: TemplateStore) -> None:
    case_id = await templates.record_test_send(SMS, NOW, "test_sent", {"address": "+31612345678"})
    await templates.record_test_send(SMS, NOW, "test_failed", {"error": "refused"})

    assert case_id == "studio-test-case_received"
    sends = await templates.test_sends(SMS)
    assert [(kind, detail.get("test")) for _, kind, detail in sends] == [
        ("test_failed", True),
        ("test_sent", True),
    ]


async def test_the_overlay_serves_published_overrides_before_the_files(
    templates: TemplateStore,
) -> None:
    files = jinja2.DictLoader({SMS.file: "from the file", SMS_NL.file: "uit het bestand"})
    published = PublishedTemplates(files)
    env = jinja2.Environment(loader=published.loader, auto_reload=True)
    await published.start(templates)
    try:
        assert env.get_template(SMS.file).render() == "from the file"
        await templates.publish(SMS, "from the studio", "ada", 0, NOW)
        await published.refresh()
        assert env.get_template(SMS.file).render() == "from the studio"
        assert env.get_template(SMS_NL.file).render() == "uit het bestand"
        assert set(published.loader.list_templates()) == {SMS.file, SMS_NL.file}
    finally:
        await published.stop()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="GC_TEST_POSTGRES_URL is not set")
async def test_a_publish_on_one_instance_reaches_another(url: str, store: Store) -> None:
    if not url.startswith("postgres"):
        pytest.skip("NOTIFY is PostgreSQL only; SQLite has one process")
    other = create_store(url)
    assert isinstance(other, SqlStore)
    await other.open()
    refreshed = asyncio.Event()
    published = PublishedTemplates(jinja2.DictLoader({}))
    published.on_refresh(refreshed.set)
    try:
        await published.start(other.templates())
        refreshed.clear()
        await store.templates().publish(SMS, "everywhere", "ada", 0, NOW)
        await asyncio.wait_for(refreshed.wait(), timeout=10)
        assert published.loader.snapshot == {SMS.file: "everywhere"}
    finally:
        await published.stop()
        await other.close()


async def test_a_signed_out_session_stays_signed_out_until_it_expires(
    templates: TemplateStore,
) -> None:
    assert not await templates.signed_out("nonce-1")
    await templates.sign_out("nonce-1", NOW + timedelta(hours=12), NOW)
    await templates.sign_out("nonce-1", NOW + timedelta(hours=12), NOW)  # twice is fine
    assert await templates.signed_out("nonce-1")
    assert not await templates.signed_out("nonce-2")
    # Once a session would have expired anyway, its sign-out is forgotten.
    later = NOW + timedelta(hours=13)
    await templates.sign_out("nonce-2", later + timedelta(hours=12), later)
    assert not await templates.signed_out("nonce-1")
    assert await templates.signed_out("nonce-2")
