"""What a message template sees, and the sample cases used to preview and check templates.

The context is the external contract of templates: `customer`, `case` (id,
status, previous_status, data), `event`, `unsubscribe_url`, `case_url` (the
customer's case page), `now`, plus `locale` and `timezone`, which the date
filters read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from groundcontrol.domain import CHANNELS, CaseState, ChannelName, Customer, Priority
from groundcontrol.errors import ConfigError

# Previews and checks render with this link: a real one needs a real case and the key.
PREVIEW_CASE_URL = "https://groundcontrol.example/c/preview"


def build_context(
    *,
    customer: Customer,
    case: CaseState,
    event: Mapping[str, Any],
    unsubscribe_url: str | None,
    now: datetime,
    locale: str,
    case_url: str | None = None,
) -> dict[str, Any]:
    """The template context for one message to `customer` about `case`."""
    return {
        "customer": {**customer.public_dict(), "first_name": first_name(customer.name)},
        "case": {
            "id": case.id,
            "status": case.status,
            "previous_status": case.previous_status,
            "data": dict(case.data),
        },
        "event": dict(event),
        "unsubscribe_url": unsubscribe_url,
        "case_url": case_url,
        "now": now,
        "locale": locale,
        "timezone": customer.timezone,
    }


def first_name(name: str | None) -> str | None:
    """ "Ada Lovelace" -> "Ada"; None when the name is unknown or blank."""
    parts = (name or "").split()
    return parts[0] if parts else None


@dataclass(frozen=True)
class Sample:
    """A sample case from `templates/_samples/<name>.json` to render templates with."""

    name: str
    customer: Customer
    case: CaseState
    event: Mapping[str, Any]
    now: datetime
    unsubscribe_url: str | None = None
    case_url: str = PREVIEW_CASE_URL
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def context(self, locale: str) -> dict[str, Any]:
        return build_context(
            customer=self.customer,
            case=self.case,
            event=self.event,
            unsubscribe_url=self.unsubscribe_url,
            now=self.now,
            locale=locale,
            case_url=self.case_url,
        )


def load_sample(path: Path) -> Sample:
    """Read one sample file: `{"customer": {...}, "case": {...}, "event": {...}}`."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"sample data file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not readable JSON: {exc}") from exc
    missing = missing_keys(raw)
    if missing:
        raise ConfigError(
            f"{path}: not a valid sample: missing {', '.join(missing)} "
            "(see templates/_samples/*.json for the shape)"
        )
    try:
        return sample_from_mapping(path.stem, raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a valid sample: {exc}") from exc


_REQUIRED = (("customer", "id"), ("case", "id"), ("case", "status"))


def missing_keys(raw: Any) -> list[str]:
    """The required sample keys `raw` lacks, dotted (`case.status`)."""
    if not isinstance(raw, Mapping):
        return []  # sample_from_mapping says what is wrong with the whole file
    missing: list[str] = []
    for section, key in _REQUIRED:
        part = raw.get(section)
        if not isinstance(part, Mapping):
            if section not in missing:
                missing.append(section)
        elif key not in part:
            missing.append(f"{section}.{key}")
    return missing


def load_samples(directory: Path) -> list[Sample]:
    """Every `*.json` sample in `directory`, sorted by name; none when it does not exist."""
    if not directory.is_dir():
        return []
    return [load_sample(path) for path in sorted(directory.glob("*.json"))]


def sample_from_mapping(name: str, raw: Mapping[str, Any]) -> Sample:
    if not isinstance(raw, Mapping):
        raise TypeError("the file must hold a JSON object")
    event = dict(raw.get("event") or {})
    customer = _customer(raw["customer"])
    case = _case(raw["case"], customer.id, event)
    now = _moment(raw.get("now") or event.get("occurred_at"))
    return Sample(
        name=name,
        customer=customer,
        case=case,
        event=event,
        now=now,
        unsubscribe_url=raw.get("unsubscribe_url"),
        case_url=str(raw.get("case_url") or PREVIEW_CASE_URL),
        raw=raw,
    )


def _customer(raw: Mapping[str, Any]) -> Customer:
    channels = tuple(raw.get("channels") or ())
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown channels {unknown}")
    return Customer(
        id=str(raw["id"]),
        name=raw.get("name"),
        email=raw.get("email"),
        phone=raw.get("phone"),
        chat_webhook=raw.get("chat_webhook"),
        locale=raw.get("locale"),
        timezone=raw.get("timezone"),
        channels=channels,
        opted_out=frozenset[ChannelName](raw.get("opted_out") or ()),
    )


def _case(raw: Mapping[str, Any], customer_id: str, event: Mapping[str, Any]) -> CaseState:
    return CaseState(
        id=str(raw["id"]),
        customer_id=customer_id,
        status=str(raw["status"]),
        previous_status=raw.get("previous_status"),
        status_at=_moment(event.get("occurred_at")),
        sequence=None,
        priority=Priority.parse(str(event.get("priority") or "normal")),
        data=dict(raw.get("data") or {}),
    )


def _moment(value: Any) -> datetime:
    if not value:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
