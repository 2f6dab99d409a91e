"""Settings: TOML file, GC_SECTION__KEY environment overrides, read once and frozen."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from groundcontrol.errors import ConfigError
from groundcontrol.settings import is_loopback_host, load_settings

TOML = """
[store]
url = "sqlite:///from-file.db"

[delivery]
concurrency = 5
backoff_initial = "10s"

[sources.demo]
token = "file-token"

[channels.email]
from = "Care <care@example.com>"
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No GC_* from the caller's shell, and no config/groundcontrol.toml nearby."""
    for name in [n for n in os.environ if n.startswith("GC_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "groundcontrol.toml"
    path.write_text(TOML, encoding="utf-8")
    return path


def test_without_a_file_the_defaults_apply() -> None:
    settings = load_settings()
    assert settings.store.url == "sqlite:///var/groundcontrol.db"
    assert settings.delivery.concurrency == 100
    assert settings.sources == {}


def test_the_file_sets_values(config: Path) -> None:
    settings = load_settings(config)
    assert settings.store.url == "sqlite:///from-file.db"
    assert settings.delivery.duration("backoff_initial") == timedelta(seconds=10)
    assert settings.channels.email.from_ == "Care <care@example.com>"


def test_the_environment_beats_the_file_key_by_key(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GC_STORE__URL", "postgresql://postgres@127.0.0.1/test")
    settings = load_settings(config)
    assert settings.store.url == "postgresql://postgres@127.0.0.1/test"
    assert settings.delivery.concurrency == 5  # the rest of the file still counts


def test_explicit_overrides_beat_the_environment(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GC_STORE__URL", "sqlite:///from-env.db")
    settings = load_settings(config, store={"url": "sqlite:///explicit.db"})
    assert settings.store.url == "sqlite:///explicit.db"


def test_a_source_token_can_come_from_the_environment(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GC_SOURCES__CRM__TOKEN", "crm-token")
    monkeypatch.setenv("GC_SOURCES__DEMO__TOKEN", "rotated")
    settings = load_settings(config)
    tokens = {name: s.token.get_secret_value() for name, s in settings.sources.items() if s.token}
    assert tokens == {"crm": "crm-token", "demo": "rotated"}


def test_the_default_file_is_read_when_present(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "groundcontrol.toml").write_text(TOML, encoding="utf-8")
    assert load_settings().store.url == "sqlite:///from-file.db"


def test_an_explicit_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_invalid_values_name_the_key(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_DELIVERY__CONCURRENCY", "0")
    with pytest.raises(ConfigError, match=r"delivery\.concurrency"):
        load_settings(config)


def test_a_bad_duration_is_refused(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_DELIVERY__LEASE", "a minute")
    with pytest.raises(ConfigError, match=r"delivery\.lease"):
        load_settings(config)


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('[store]\nurll = "sqlite:///x.db"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"store\.urll"):
        load_settings(path)


def test_secrets_never_show_in_reprs(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_ADMIN__TOKEN", "admin-secret-value")
    settings = load_settings(config)
    for text in (repr(settings), str(settings), repr(settings.sources)):
        assert "file-token" not in text
        assert "admin-secret-value" not in text
    assert settings.admin.token is not None
    assert settings.admin.token.get_secret_value() == "admin-secret-value"


def test_settings_are_frozen(config: Path) -> None:
    settings = load_settings(config)
    with pytest.raises(ValidationError):
        settings.store = settings.store
    with pytest.raises(ValidationError):
        settings.store.url = "sqlite:///other.db"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_a_breaker_cool_down_above_its_maximum_is_refused() -> None:
    with pytest.raises(ConfigError, match="breaker_cool_down"):
        load_settings(None, delivery={"breaker_cool_down": "1h", "breaker_max_cool_down": "10m"})


def test_the_breaker_is_configurable() -> None:
    settings = load_settings(None, delivery={"breaker_threshold": 2, "breaker_cool_down": "2s"})
    assert settings.delivery.breaker_threshold == 2
    assert settings.delivery.duration("breaker_cool_down").total_seconds() == 2


@pytest.mark.parametrize(
    ("line", "value"), [("", "auto"), ('smtputf8 = "auto"', "auto"), ("smtputf8 = true", True)]
)
def test_smtputf8_is_auto_true_or_false(tmp_path: Path, line: str, value: object) -> None:
    path = tmp_path / "utf8.toml"
    path.write_text(f'[channels.email]\nhost = "smtp.example.com"\n{line}\n', encoding="utf-8")
    assert load_settings(path).channels.email.smtputf8 == value


def test_another_smtputf8_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "utf8.toml"
    path.write_text('[channels.email]\nsmtputf8 = "sometimes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"channels\.email\.smtputf8"):
        load_settings(path)
