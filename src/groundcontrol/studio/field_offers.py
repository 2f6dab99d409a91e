"""The "Insert a field" list: every value the sample cases and their event data offer
a message, with a name in words, an example, and the text to insert.

A field some sample lacks (or holds empty) is inserted with a default, so the
message still renders for every case: `{{ case.data.eta | default("", true) }}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from groundcontrol.templates.context import Sample

_LABELS = {
    "customer.first_name": "First name",
    "customer.name": "Full name",
    "customer.email": "E-mail address",
    "customer.phone": "Phone number",
    "case.id": "Case reference",
    "case.status": "Case status",
    "case.previous_status": "Previous status",
    "event.occurred_at": "When the status changed",
    "event.priority": "Priority",
}
_CUSTOMER = ("first_name", "name", "email", "phone")
_CASE = ("id", "status", "previous_status")
_EVENT_SKIP = {"id", "case_id", "status", "data", "customer", "type", "source"}
_EXAMPLE_CHARS = 40
TODAY = "{{ now | date }}"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Offer:
    path: str
    label: str
    example: str
    everywhere: bool  # every sample has a value
    dated: bool = False  # every value is an ISO date: shown through the `date` filter

    @property
    def snippet(self) -> str:
        if not self.everywhere:
            return f'{{{{ {self.path} | default("", true) }}}}'
        return f"{{{{ {self.path} | date }}}}" if self.dated else f"{{{{ {self.path} }}}}"


def offers(samples: list[Sample], locale: str = "en") -> list[Offer]:
    """Every field of the samples, in the order customer, case, case data, event."""
    contexts = [sample.context(locale) for sample in samples]
    paths: list[str] = []
    for context in contexts:
        paths += [p for p in _paths(context) if p not in paths]
    return [_offer(path, contexts) for path in _ordered(paths)]


def _paths(context: Mapping[str, Any]) -> Iterator[str]:
    yield from (f"customer.{key}" for key in _CUSTOMER)
    yield from (f"case.{key}" for key in _CASE)
    yield from _scalars("case.data", context["case"]["data"])
    event = context["event"]
    yield from (
        f"event.{key}"
        for key, value in event.items()
        if key not in _EVENT_SKIP and _is_scalar(value)
    )


def _scalars(prefix: str, value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if isinstance(key, str) and key.isidentifier():
                yield from _scalars(f"{prefix}.{key}", inner)
    elif _is_scalar(value):
        yield prefix


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _ordered(paths: list[str]) -> list[str]:
    data = sorted(p for p in paths if p.startswith("case.data."))
    others = [p for p in paths if p not in data]
    return (
        [p for p in others if not p.startswith("event.")]
        + data
        + [p for p in others if p.startswith("event.")]
    )


def _offer(path: str, contexts: list[dict[str, Any]]) -> Offer:
    values = [_lookup(context, path) for context in contexts]
    present = [v for v in values if v not in (None, "")]
    example = str(present[0]) if present else ""
    if len(example) > _EXAMPLE_CHARS:
        example = example[: _EXAMPLE_CHARS - 1] + "…"
    everywhere = bool(values) and len(present) == len(values)
    dated = everywhere and all(isinstance(v, str) and _ISO_DATE.match(v) for v in present)
    return Offer(path, label(path), example, everywhere, dated)


def label(path: str) -> str:
    """ "case.data.case_title" -> "Case title"; known fields have their own names."""
    if path in _LABELS:
        return _LABELS[path]
    key = path.rpartition(".")[2]
    return key.upper() if len(key) <= 3 else key.replace("_", " ").capitalize()


def _lookup(context: Mapping[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value
