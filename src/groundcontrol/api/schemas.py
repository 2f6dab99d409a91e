"""The ingest and customer bodies as pydantic models, and their conversion to domain values.

Strict about types (a number is not a string), unknown fields are refused so typos
are caught, and anything goes inside `data`. Phone numbers come out as E.164,
locales as BCP 47 tags, times as aware UTC datetimes.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Annotated, Any, Literal

import phonenumbers
from babel import Locale, UnknownLocaleError
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
)
from yarl import URL

from groundcontrol.domain import ChannelName, Customer, CustomerPatch, Event, Priority

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)", re.ASCII)


def _rfc3339(value: Any) -> Any:
    """Only an RFC 3339 string with an offset: no epoch numbers, no bare dates."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-11-22T10:00:00Z")
    return datetime.fromisoformat(value.upper().replace(" ", "T"))


# Every time is shown in some customer's zone (up to 14 h either side of UTC) and
# moved by follow-up delays: a day's margin inside Python's datetime range.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError("must be between 1970-01-01T00:00:00Z and 9999-01-01T00:00:00Z")
    return utc


def normalise_phone(value: str) -> str:
    """E.164 (`+31612345678`). Without a leading + there is no country: invalid."""
    return _e164(value)


# A customer's events repeat the same number; parsing and validating it is most of
# the cost of validating an event. Bounded, so unique numbers cannot grow it.
@lru_cache(maxsize=4096)
def _e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(
            "not a phone number: use international format, e.g. +31612345678"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# Validation context key: true when the e-mail channel can send to a non-ASCII local
# part now (SMTPUTF8, channels/smtputf8.py). Without it such addresses are refused.
SMTPUTF8_CONTEXT = "smtputf8"


def validation_context(*, smtputf8: bool) -> dict[str, Any]:
    """The context `model_validate` takes for what the running service can deliver."""
    return {SMTPUTF8_CONTEXT: smtputf8}


def check_email(value: str, info: ValidationInfo) -> str:
    """local@domain: no spaces, a dotted domain of valid labels. An IDN domain comes out
    as punycode (`bücher.de` -> `xn--bcher-kva.de`), which every mail server takes; a
    non-ASCII local part (NFC) needs SMTPUTF8 from the relay, so it is taken only when
    the validation context says the e-mail channel can send it now, and refused here
    otherwise rather than accepted and then dead."""
    local, at, domain = value.rpartition("@")
    local = unicodedata.normalize("NFC", local)
    # RFC 5321/6531: at most 64 octets (UTF-8) in the local part.
    if not at or not local or len(value) > 254 or len(local.encode()) > 64:
        raise ValueError("not an email address")
    if any(c.isspace() or c in '@<>(),;:"[]\\' or not c.isprintable() for c in local):
        raise ValueError("not an email address")
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        raise ValueError("the email domain is not valid")
    if not local.isascii() and not (info.context or {}).get(SMTPUTF8_CONTEXT, False):
        raise ValueError(
            "the part before @ is not ASCII: that needs SMTPUTF8, which the e-mail "
            "channel's SMTP server does not offer (channels.email.smtputf8)"
        )
    address = f"{local}@{ascii_domain}"
    if len(address.encode()) > 254:
        raise ValueError("not an email address: longer than 254 octets as punycode")
    return address


def _ascii_domain(domain: str) -> str | None:
    labels = domain.split(".")
    if len(labels) < 2:
        return None
    try:
        ascii_labels = [label.encode("idna").decode() for label in labels]
    except UnicodeError:
        return None
    if not all(_LABEL.fullmatch(label) for label in ascii_labels):
        return None
    return ".".join(ascii_labels)


def check_webhook_url(value: str) -> str:
    try:
        url = URL(value)
    except (ValueError, TypeError):
        raise ValueError("not a URL") from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError("must be an absolute http(s) URL")
    return value


def normalise_locale(value: str) -> str:
    """A BCP 47 tag babel knows, normalised: `en_us` -> `en-US`, `zh-hant-tw` -> `zh-Hant-TW`."""
    return _bcp47(value)


# babel checks the locale's data file on disk (a stat) on every parse.
@lru_cache(maxsize=1024)
def _bcp47(value: str) -> str:
    try:
        locale = Locale.parse(value.replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError("not a known locale, e.g. en, nl-NL, fr-CA") from None
    parts = (locale.language, locale.script, locale.territory, locale.variant)
    return "-".join(p for p in parts if p)


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(value: str) -> str:
    if value not in _timezones():
        raise ValueError("not an IANA time zone, e.g. Europe/Amsterdam")
    return value


def _unique(channels: list[ChannelName]) -> list[ChannelName]:
    if len(set(channels)) != len(channels):
        raise ValueError("each channel may appear once")
    return channels


Text = Annotated[str, Field(min_length=1, max_length=200)]
Phone = Annotated[str, Field(max_length=40), AfterValidator(normalise_phone)]
Email = Annotated[str, Field(max_length=254), AfterValidator(check_email)]
WebhookUrl = Annotated[str, Field(max_length=2000), AfterValidator(check_webhook_url)]
LocaleTag = Annotated[str, Field(max_length=35), AfterValidator(normalise_locale)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(check_timezone)]
Channels = Annotated[list[ChannelName], AfterValidator(_unique)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_to_utc)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CustomerBody(_Body):
    """A customer as `PUT /v1/customers/{id}` takes it (the id comes from the path)."""

    id: Text | None = None
    name: Annotated[str, Field(max_length=200)] | None = None
    email: Email | None = None
    phone: Phone | None = None
    chat_webhook: WebhookUrl | None = None
    locale: LocaleTag | None = None
    timezone: TimeZone | None = None
    channels: Channels = Field(default_factory=list, description="preference order")


class InlineCustomer(CustomerBody):
    """A customer inside an event: just `{"id"}` of a stored one, or fields to upsert."""

    id: Text


class EventBody(_Body):
    """A case status change, as a workflow system posts it to `POST /v1/events`."""

    id: Text
    case_id: Text
    status: Annotated[str, Field(min_length=1, max_length=100)]
    occurred_at: Timestamp
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    sequence: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    customer: InlineCustomer
    data: dict[str, Any] = Field(default_factory=dict)


class CloudEventBody(BaseModel):
    """A CloudEvents 1.0 structured envelope; `data` is the event."""

    # Extension attributes are allowed by the CloudEvents spec.
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    specversion: Literal["1.0"]
    id: Text
    source: Annotated[str, Field(min_length=1)]
    type: Annotated[str, Field(min_length=1)]
    datacontenttype: str | None = None
    data: dict[str, Any]


_CUSTOMER_FIELDS = ("name", "email", "phone", "chat_webhook", "locale", "timezone", "channels")


def to_event(body: EventBody, source: str, body_hash: str) -> Event:
    """The domain event; the inline customer carries only the fields that were sent."""
    return Event(
        source=source,
        id=body.id,
        case_id=body.case_id,
        status=body.status,
        occurred_at=body.occurred_at,
        customer=CustomerPatch(id=body.customer.id, fields=_patch_fields(body.customer)),
        priority=Priority.parse(body.priority) if body.priority else None,
        sequence=body.sequence,
        data=dict(body.data),
        body_hash=body_hash,
    )


def _patch_fields(customer: InlineCustomer) -> dict[str, Any]:
    sent = customer.model_fields_set
    values = {name: getattr(customer, name) for name in _CUSTOMER_FIELDS if name in sent}
    if "channels" in values:
        values["channels"] = tuple(values["channels"])
    return values


def to_customer(customer_id: str, body: CustomerBody) -> Customer:
    """The whole customer as `PUT` replaces it (opt-outs are not the caller's to set)."""
    return Customer(
        id=customer_id,
        name=body.name,
        email=body.email,
        phone=body.phone,
        chat_webhook=body.chat_webhook,
        locale=body.locale,
        timezone=body.timezone,
        channels=tuple(body.channels),
    )


def unwrap_cloudevent(envelope: Any) -> dict[str, Any]:
    """The event inside a CloudEvents envelope; without its own `id`, it takes the
    envelope's. Raises pydantic's ValidationError for a bad envelope."""
    cloudevent = CloudEventBody.model_validate(envelope)
    return {"id": cloudevent.id, **cloudevent.data}
