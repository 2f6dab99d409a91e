"""`POST /v1/events`: authenticate, validate, commit, and only then answer 202.

The order is fixed: size (413), source (401), content type (415), JSON (400),
fields (422); nothing is stored unless every check passed.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from groundcontrol import keys
from groundcontrol.api.auth import authenticate_source
from groundcontrol.api.problems import ProblemError, field_errors, validation_error
from groundcontrol.api.schemas import EventBody, to_event, unwrap_cloudevent, validation_context
from groundcontrol.api.storable import refuse_unstorable_json
from groundcontrol.store.contract import IngestResult, IngestStatus

JSON = "application/json"
CLOUDEVENTS = "application/cloudevents+json"
UNKNOWN_CUSTOMER = "urn:groundcontrol:problem:unknown-customer"
CONFLICT = "urn:groundcontrol:problem:conflict"
NOT_STORED = "urn:groundcontrol:problem:not-stored"

routes = web.RouteTableDef()


@routes.post("/v1/events")
async def post_event(request: web.Request) -> web.Response:
    """Record one case event; 202 once it is committed."""
    metrics = request.app[keys.METRICS]
    started = time.perf_counter()
    try:
        source, result = await _ingest(request)
    except ProblemError as exc:
        metrics.event_rejected(rejection_reason(exc))
        raise
    metrics.ingest_time(time.perf_counter() - started)
    duplicate = result.status is IngestStatus.DUPLICATE
    metrics.event_received(source, "duplicate" if duplicate else result.outcome)
    if result.outcome == "unreachable" and not duplicate:
        metrics.unreachable()
    return web.json_response(_accepted(result, duplicate), status=202)


async def _ingest(request: web.Request) -> tuple[str, IngestResult]:
    settings = request.app[keys.SETTINGS]
    body = await read_body(request, settings.server.max_body_bytes)
    now = request.app[keys.CLOCK]()
    source = authenticate_source(settings.sources, request.headers, body, now)
    payload, prefix = parse_payload(body, request.content_type)
    context = validation_context(smtputf8=request.app[keys.SMTPUTF8].accepted)
    event = to_event(validate_event(payload, prefix, context), source, canonical_hash(payload))
    [result] = await request.app[keys.INGESTOR].ingest([event])
    refused = refusal(result, prefix)
    if refused is not None:
        raise refused
    return source, result


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it is known to exceed `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> ProblemError:
    return ProblemError(413, detail=f"the body may be at most {limit} bytes")


def load_json(body: bytes) -> Any:
    """Parse JSON or answer 400 (NaN and Infinity are not JSON); then 422 for any
    value the store cannot hold (NUL, a lone surrogate, an integer past 64 bits)."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ProblemError(400, detail=f"the body is not valid JSON: {exc}") from None
    refuse_unstorable_json(payload)
    return payload


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def require_json(content_type: str, *also: str) -> None:
    """415 unless the content type is JSON (or one of `also`)."""
    accepted = (JSON, *also)
    if content_type not in accepted:
        raise ProblemError(
            415,
            detail=f"Content-Type must be {' or '.join(accepted)}, not {content_type}",
            headers={"Accept-Post": ", ".join(accepted)},
        )


def parse_payload(body: bytes, content_type: str) -> tuple[Any, str]:
    """The event as JSON, unwrapped from a CloudEvents envelope; and the field path
    prefix ("data" for an envelope) that error messages use."""
    require_json(content_type, CLOUDEVENTS)
    payload = load_json(body)
    if content_type != CLOUDEVENTS:
        return payload, ""
    try:
        return unwrap_cloudevent(payload), "data"
    except ValidationError as exc:
        raise validation_error(field_errors(exc)) from None


def validate_event(
    payload: Any, prefix: str = "", context: dict[str, Any] | None = None
) -> EventBody:
    """The event, or a 422 naming each invalid field under `prefix`; `context` is
    `schemas.validation_context` (without it, what needs SMTPUTF8 is refused)."""
    try:
        return EventBody.model_validate(payload, context=context)
    except ValidationError as exc:
        raise validation_error(field_errors(exc, prefix)) from None


def canonical_hash(payload: Any) -> str:
    """sha256 of the JSON with sorted keys: whitespace and key order are no conflict."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def refusal(result: IngestResult, prefix: str) -> ProblemError | None:
    """The problem of an event the store refused (a conflict, an unknown customer)."""
    if result.status is IngestStatus.CONFLICT:
        return ProblemError(
            409,
            "Conflicting event",
            f"event {result.event_id!r} was already received with a different body",
            type_=CONFLICT,
        )
    if result.status is IngestStatus.UNKNOWN_CUSTOMER:
        field = f"{prefix}.customer.id" if prefix else "customer.id"
        message = "no stored customer with this id; send it inline or PUT /v1/customers/{id}"
        return ProblemError(
            422,
            "Unknown customer",
            message,
            type_=UNKNOWN_CUSTOMER,
            errors=[{"field": field, "message": message}],
        )
    return None


def not_stored(error: Exception) -> ProblemError:
    """The problem of an event the store itself refused (a constraint, a trigger): no
    input rule foresaw it, so it is a 500, and the reason goes with it."""
    return ProblemError(
        500,
        "Event not stored",
        f"the store refused this event: {type(error).__name__}: {error}",
        type_=NOT_STORED,
    )


def _accepted(result: IngestResult, duplicate: bool) -> dict[str, Any]:
    return {
        "event_id": result.event_id,
        "duplicate": duplicate,
        "outcome": result.outcome,
        "notification_ids": list(result.notification_ids),
    }


_REASONS = {
    400: "malformed",
    401: "unauthenticated",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


def rejection_reason(exc: ProblemError) -> str:
    """The metrics label of a refused event."""
    if exc.type_ == UNKNOWN_CUSTOMER:
        return "unknown_customer"
    if exc.type_ == NOT_STORED:
        return "not_stored"
    return _REASONS.get(exc.status, str(exc.status))
