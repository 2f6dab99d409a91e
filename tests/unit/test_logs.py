"""Log configuration: level and format from settings, JSON lines with their fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from groundcontrol.errors import ConfigError
from groundcontrol.logs import configure
from groundcontrol.settings import LoggingSettings, load_settings


@pytest.fixture(autouse=True)
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_message_and_the_structured_fields() -> None:
    out = io.StringIO()
    configure(LoggingSettings(format="json"), out)
    logging.getLogger("groundcontrol.activity").info(
        "sent %s", "n_1", extra={"fields": {"notification_id": "n_1"}}
    )
    line = json.loads(out.getvalue())
    assert line["message"] == "sent n_1"
    assert (line["level"], line["logger"], line["notification_id"]) == (
        "INFO",
        "groundcontrol.activity",
        "n_1",
    )


def test_text_lines_and_the_level_filter() -> None:
    out = io.StringIO()
    configure(LoggingSettings(level="WARNING"), out)
    logging.getLogger("groundcontrol").info("hidden")
    logging.getLogger("groundcontrol").warning("shown")
    assert "hidden" not in out.getvalue()
    assert "WARNING groundcontrol: shown" in out.getvalue()


def test_the_environment_sets_the_format_and_the_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_LOGGING__FORMAT", "json")
    monkeypatch.setenv("GC_LOGGING__LEVEL", "debug")
    settings = load_settings()
    assert (settings.logging.format, settings.logging.level) == ("json", "DEBUG")


def test_an_unknown_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_LOGGING__FORMAT", "xml")
    with pytest.raises(ConfigError, match=r"logging\.format"):
        load_settings()
