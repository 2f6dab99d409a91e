"""A broker message's body as an event, by the same rules as `POST /v1/events`.

Three shapes are accepted: the event JSON itself, a CloudEvents structured envelope
(content type `application/cloudevents+json`, or any JSON object with `specversion`:
Redis entries carry no content type), and CloudEvents binary mode, where the adapter
found the attributes in the transport's headers and the body is the event. Anything
else raises the `ProblemError` the webhook would have answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from groundcontrol.api.ingest import CLOUDEVENTS, JSON, canonical_hash, load_json, validate_event
from groundcontrol.api.problems import ProblemError, field_errors, validation_error
from groundcontrol.api.schemas import to_event, unwrap_cloudevent
from groundcontrol.domain import Event
from groundcontrol.subscriptions.base import Message


@dataclass(frozen=True)
class Decoded:
    """An event and the field path prefix ("data" inside an envelope) its errors use."""

    event: Event
    prefix: str


def decode(message: Message, source: str, context: dict[str, Any] | None = None) -> Decoded:
    """The message's event, as coming from `source`; raises ProblemError. `context` is
    the webhook's validation context (`schemas.validation_context`)."""
    payload, prefix = _payload(message)
    return Decoded(
        to_event(validate_event(payload, prefix, context), source, canonical_hash(payload)),
        prefix,
    )


def _payload(message: Message) -> tuple[Any, str]:
    media_type = _media_type(message.content_type)
    if message.attributes:
        _require_json(media_type, JSON)
        return _unwrap({**message.attributes, "data": load_json(message.body)}), "data"
    _require_json(media_type, JSON, CLOUDEVENTS)
    payload = load_json(message.body)
    if media_type == CLOUDEVENTS or (isinstance(payload, dict) and "specversion" in payload):
        return _unwrap(payload), "data"
    return payload, ""


def _media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` -> `application/json`; none means JSON."""
    return content_type.split(";")[0].strip().lower() or JSON


def _require_json(media_type: str, *accepted: str) -> None:
    if media_type not in accepted:
        raise ProblemError(
            415, detail=f"the content type must be {' or '.join(accepted)}, not {media_type}"
        )


def _unwrap(envelope: Any) -> dict[str, Any]:
    try:
        return unwrap_cloudevent(envelope)
    except ValidationError as exc:
        raise validation_error(field_errors(exc)) from None
