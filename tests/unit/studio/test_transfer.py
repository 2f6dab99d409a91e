"""`groundcontrol templates export` and `import` against a real SQLite store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.api_harness import settings_for

from groundcontrol.cli import main
from groundcontrol.settings import Settings
from groundcontrol.store import open_store
from groundcontrol.store.sql.engine import SqlStore
from groundcontrol.store.templates import TemplateKey

SMS = TemplateKey("case_received", "sms")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    chosen = settings_for(tmp_path)
    monkeypatch.setenv("GC_STORE__URL", chosen.store.url)
    monkeypatch.setenv("GC_TEMPLATES__DIR", str(chosen.templates.dir))
    return chosen


def published(settings: Settings) -> dict[str, str]:
    async def read() -> dict[str, str]:
        store = await open_store(settings.store.url)
        assert isinstance(store, SqlStore)
        try:
            return await store.templates().published()
        finally:
            await store.close()

    return asyncio.run(read())


def test_import_publishes_changed_files_and_export_writes_them_back(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "exported"
    assert main(["templates", "export", str(exported)]) == 0
    assert (exported / "_layouts" / "email.j2").is_file()
    assert (exported / SMS.file).read_text() == (settings.templates.dir / SMS.file).read_text()

    (exported / SMS.file).write_text("Imported words for {{ case.id }}")
    assert main(["templates", "import", str(exported)]) == 0
    assert "published 1 changed template(s)" in capsys.readouterr().out
    assert published(settings) == {SMS.file: "Imported words for {{ case.id }}"}

    again = tmp_path / "again"
    assert main(["templates", "export", str(again)]) == 0
    assert (again / SMS.file).read_text() == "Imported words for {{ case.id }}"


def test_a_broken_file_means_nothing_is_imported(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "incoming"
    (folder / "case_received").mkdir(parents=True)
    (folder / "case_received" / "sms.j2").write_text("fine {{ case.id }}")
    (folder / "case_received" / "chat.j2").write_text("line one\n{{ case.missing.thing }}")

    assert main(["templates", "import", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "case_received/chat.j2: line 2: undefined variable" in out
    assert published(settings) == {}
