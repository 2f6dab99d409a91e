"""Settings: a TOML file plus `GC_SECTION__KEY` environment overrides, read once, frozen.

Secrets are `SecretStr`, so they never show up in logs or reprs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from groundcontrol.durations import parse_duration
from groundcontrol.errors import ConfigError
from groundcontrol.settings.subscriptions import SubscriptionSettings

DEFAULT_CONFIG = Path("config/groundcontrol.toml")
DEMO_TOKEN = "demo-token-change-me"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Signs unsubscribe and case-page links; falls back to admin.token. Rotating it
    # breaks old unsubscribe links and revokes every case-page link (docs/case-page.md).
    secret_key: SecretStr | None = None
    shutdown_grace: str = "10s"

    @field_validator("shutdown_grace")
    @classmethod
    def _grace(cls, value: str) -> str:
        return _check_duration(value)


class StoreSettings(_Section):
    url: str = "sqlite:///var/groundcontrol.db"
    pool_size: int = Field(default=10, ge=1)


class TemplateSettings(_Section):
    dir: Path = Path("templates")
    max_output_chars: int = Field(default=100_000, ge=100)
    # A render's budget: loop steps and calls, and seconds (templates/budget.py).
    max_render_steps: int = Field(default=200_000, ge=1000)
    max_render_seconds: float = Field(default=1.0, gt=0, le=60)
    default_locale: str = "en"
    # The studio warns when a draft SMS would cost more segments than this.
    sms_segment_limit: int = Field(default=3, ge=1)


class JourneySettings(_Section):
    file: Path = Path("config/journeys.toml")


class AdminSettings(_Section):
    token: SecretStr | None = None


CALLBACK_TYPES = (
    "case.promise_breached",
    "customer.unreachable",
    "contact.invalid",
    "notification.status",
)
DEFAULT_CALLBACK_EVENTS = CALLBACK_TYPES[:3]  # notification.status is opt-in


class SourceSettings(_Section):
    token: SecretStr | None = None
    secret: SecretStr | None = None  # Standard Webhooks "whsec_..." secret
    # Telling the back office (the golden thread): Standard-Webhooks-signed POSTs.
    callback_url: str | None = None
    callback_secret: SecretStr | None = None  # "whsec_..."
    callback_events: list[str] = Field(default_factory=lambda: list(DEFAULT_CALLBACK_EVENTS))

    @field_validator("callback_events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CALLBACK_TYPES))
        if unknown:
            raise ValueError(f"unknown callback events {unknown}: use {', '.join(CALLBACK_TYPES)}")
        return value

    @model_validator(mode="after")
    def _signed(self) -> SourceSettings:
        if self.callback_url is not None and self.callback_secret is None:
            raise ValueError("callback_url needs callback_secret (whsec_...) to sign callbacks")
        return self


class EmailSettings(_Section):
    host: str | None = None  # no host: write .eml files to the outbox instead
    port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    tls: bool = False
    from_: str = Field(default="Ground Control <updates@groundcontrol.local>", alias="from")
    timeout: str = "10s"
    pool_size: int = Field(default=4, ge=1)
    # Addresses with a non-ASCII local part (`用户@例子.广告`) need SMTPUTF8 (RFC 6531):
    # "auto" takes them while the server's EHLO offers it, true always, false never.
    smtputf8: bool | Literal["auto"] = "auto"


class SmsSettings(_Section):
    account_sid: str | None = None  # no account: write .json files to the outbox instead
    auth_token: SecretStr | None = None
    from_: str | None = Field(default=None, alias="from")
    api_base_url: str | None = None
    timeout: str = "10s"
    help_reply: str = "Ground Control case updates. Reply STOP to opt out, START to opt back in."


class ChatSettings(_Section):
    signing_secret: SecretStr | None = None  # no secret: write .json files to the outbox
    timeout: str = "10s"
    allow_private_networks: bool = False


class ChannelSettings(_Section):
    email: EmailSettings = EmailSettings()
    sms: SmsSettings = SmsSettings()
    chat: ChatSettings = ChatSettings()


class DeliverySettings(_Section):
    concurrency: int = Field(default=100, ge=1)
    max_attempts: int = Field(default=8, ge=1)
    backoff_initial: str = "30s"
    backoff_max: str = "1h"
    lease: str = "60s"
    poll_interval: str = "1s"
    send_timeout: str = "30s"
    retry_rate: float = Field(default=50.0, gt=0)  # retry attempts/s per provider
    # The outage breaker: after this many transient failures in a row on a channel,
    # hold its sends for the cool-down (doubling while it keeps failing, up to the max).
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_cool_down: str = "30s"
    breaker_max_cool_down: str = "10m"
    outbox_dir: Path = Path("var/outbox")

    @field_validator(
        "backoff_initial",
        "backoff_max",
        "lease",
        "poll_interval",
        "send_timeout",
        "breaker_cool_down",
        "breaker_max_cool_down",
    )
    @classmethod
    def _durations(cls, value: str) -> str:
        return _check_duration(value)

    @model_validator(mode="after")
    def _cool_downs_in_order(self) -> DeliverySettings:
        if parse_duration(self.breaker_cool_down) > parse_duration(self.breaker_max_cool_down):
            raise ValueError("breaker_cool_down must not exceed breaker_max_cool_down")
        return self

    def duration(self, name: str) -> timedelta:
        return parse_duration(str(getattr(self, name)))


class QuietHoursSettings(_Section):
    enabled: bool = True
    start: str = "21:00"
    end: str = "08:00"
    default_timezone: str = "UTC"


class LimitSettings(_Section):
    per_hour: int | None = Field(default=None, ge=1)
    per_day: int | None = Field(default=None, ge=1)


class RetentionSettings(_Section):
    # Rows in a final state older than this many days are deleted daily; 0 keeps everything.
    days: int = Field(default=90, ge=0)
    hour: int = Field(default=3, ge=0, le=23)  # UTC hour of the daily sweep


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GC_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )
    toml_path: ClassVar[Path | None] = None

    server: ServerSettings = ServerSettings()
    store: StoreSettings = StoreSettings()
    templates: TemplateSettings = TemplateSettings()
    journeys: JourneySettings = JourneySettings()
    admin: AdminSettings = AdminSettings()
    sources: dict[str, SourceSettings] = {}
    channels: ChannelSettings = ChannelSettings()
    delivery: DeliverySettings = DeliverySettings()
    quiet_hours: QuietHoursSettings = QuietHoursSettings()
    limits: LimitSettings = LimitSettings()
    retention: RetentionSettings = RetentionSettings()
    logging: LoggingSettings = LoggingSettings()
    subscriptions: list[SubscriptionSettings] = []

    @model_validator(mode="after")
    def _subscriptions_known(self) -> Settings:
        names = [s.name for s in self.subscriptions]
        if len(set(names)) != len(names):
            raise ValueError("subscriptions: each name may appear once")
        for subscription in self.subscriptions:
            if subscription.source not in self.sources:
                raise ValueError(
                    f"subscriptions {subscription.name!r}: source {subscription.source!r} "
                    "is not one of [sources]"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read settings once. An explicit path that does not exist is an error;
    without one, `config/groundcontrol.toml` is used when present."""
    if path is not None and not path.is_file():
        # pydantic-settings would silently skip a missing TOML file.
        raise ConfigError(f"config file {path} does not exist")
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    settings_class = type("_LoadedSettings", (Settings,), {"toml_path": path})
    try:
        return settings_class(**overrides)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from exc


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = str(path) if path else "environment"
    lines = [f"invalid configuration ({where}, GC_* environment):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def is_loopback_host(host: str) -> bool:
    return host in {"127.0.0.1", "::1", "localhost"} or host.startswith("127.")
