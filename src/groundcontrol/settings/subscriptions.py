"""`[[subscriptions]]`: one model per broker, chosen by the URL's scheme.

Kept out of settings.py so a new broker is a model here and an adapter module.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    field_validator,
    model_validator,
)

from groundcontrol.durations import parse_duration


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


class _Subscription(_Section):
    """`[[subscriptions]]`: consume events from a broker as the named source."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    source: str  # counts as this `[sources.NAME]`: idempotency, callbacks
    url: SecretStr  # may carry a password
    prefetch: int = Field(default=100, ge=1, le=5000)  # messages in hand per commit
    reconnect_initial: str = "500ms"
    reconnect_max: str = "30s"

    @field_validator("reconnect_initial", "reconnect_max")
    @classmethod
    def _durations(cls, value: str) -> str:
        return _check_duration(value)

    def duration(self, name: str) -> timedelta:
        return parse_duration(str(getattr(self, name)))


class AmqpSubscription(_Subscription):
    transport: Literal["amqp"] = "amqp"
    queue: str = Field(min_length=1)  # declared durable if missing
    dead_letter: str = ""  # default `<queue>.dead`

    def dead_letter_queue(self) -> str:
        return self.dead_letter or f"{self.queue}.dead"


class NatsSubscription(_Subscription):
    transport: Literal["nats"] = "nats"
    stream: str = Field(min_length=1)  # created if missing
    subject: str = Field(min_length=1)
    durable: str = Field(min_length=1)  # the durable pull consumer's name
    dead_letter: str = ""  # default `<first token of subject>.dead`
    ack_wait: str = "30s"  # an unacknowledged message is redelivered after this

    @field_validator("ack_wait")
    @classmethod
    def _ack_wait(cls, value: str) -> str:
        return _check_duration(value)

    def dead_letter_subject(self) -> str:
        return self.dead_letter or self.subject.split(".")[0] + ".dead"

    @model_validator(mode="after")
    def _dead_letter_outside_subject(self) -> NatsSubscription:
        if subject_matches(self.subject, self.dead_letter_subject()):
            raise ValueError(
                f"dead letters to {self.dead_letter_subject()!r} would be consumed again "
                f"(it matches {self.subject!r}): set dead_letter to another subject"
            )
        return self


class RedisSubscription(_Subscription):
    transport: Literal["redis"] = "redis"
    stream: str = Field(min_length=1)
    group: str = Field(min_length=1)  # created (from the stream's start) if missing
    consumer: str = ""  # this instance's name in the group; default the host name
    dead_letter: str = ""  # default `<stream>.dead`
    claim_idle: str = "60s"  # take over entries another consumer left pending this long

    @field_validator("claim_idle")
    @classmethod
    def _claim_idle(cls, value: str) -> str:
        return _check_duration(value)

    def dead_letter_stream(self) -> str:
        return self.dead_letter or f"{self.stream}.dead"


_SCHEMES = {"amqp": "amqp", "amqps": "amqp", "nats": "nats", "tls": "nats"}
_SCHEMES |= {"redis": "redis", "rediss": "redis"}


def _transport_of(value: Any) -> str | None:
    """The transport a subscription's URL scheme names (the union's discriminator)."""
    if isinstance(value, BaseModel):
        return str(getattr(value, "transport", None))
    url = value.get("url") if isinstance(value, dict) else None
    if isinstance(url, SecretStr):
        url = url.get_secret_value()
    scheme = urlsplit(url).scheme if isinstance(url, str) else ""
    return _SCHEMES.get(scheme, scheme or None)


SubscriptionSettings = Annotated[
    Annotated[AmqpSubscription, Tag("amqp")]
    | Annotated[NatsSubscription, Tag("nats")]
    | Annotated[RedisSubscription, Tag("redis")],
    Discriminator(
        _transport_of,
        custom_error_type="subscription_url",
        custom_error_message="url must start with amqp://, amqps://, nats://, tls://, "
        "redis:// or rediss://",
    ),
]


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a trailing `>` one or more."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or token not in ("*", tokens[index]):
            return False
    return len(tokens) == len(wanted)
