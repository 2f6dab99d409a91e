"""`GET /openapi.json`: the OpenAPI 3.1 document of every route the service answers.

Request schemas come from the pydantic models that validate the requests, so the
document cannot disagree with the validation; a test compares its paths with the
routes the real app registers.
"""

from __future__ import annotations

from copy import deepcopy
from functools import cache
from typing import Any

from aiohttp import web
from pydantic.json_schema import models_json_schema

import groundcontrol
from groundcontrol.api.callbacks import CALLBACK_STATES, CallbackRedriveBody
from groundcontrol.api.cursors import PAGE_DEFAULT, PAGE_MAX
from groundcontrol.api.parse_errors import PARSE_ERROR
from groundcontrol.api.problems import PROBLEM_JSON
from groundcontrol.api.read import RedriveBody
from groundcontrol.api.schemas import CloudEventBody, CustomerBody, EventBody
from groundcontrol.domain import CHANNELS, NotificationState
from groundcontrol.planning.golden_thread import ContactKind
from groundcontrol.settings import CALLBACK_TYPES
from groundcontrol.store.case_views import CaseOrder

routes = web.RouteTableDef()

_REF = "#/components/schemas/{model}"
Schema = dict[str, Any]


@routes.get("/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    """This document."""
    return web.json_response(document())


@cache
def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (built once)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ground Control",
            "version": getattr(groundcontrol, "__version__", "0.1.0"),
            "description": "Proactive notification gateway: no customer left in the dark. "
            "Every error is application/problem+json (RFC 9457). "
            "A request the HTTP parser cannot read is answered before any operation, "
            f"with type {PARSE_ERROR}: 431 for a header field over 8,190 bytes, 414 for a "
            "request target over 8,190 bytes, 400 for a NUL or control character in a "
            "header, a missing Host, or a bad request line, method or HTTP version.",
        },
        "paths": {
            **_ingest_paths(),
            **_read_paths(),
            **_golden_thread_paths(),
            **_callback_paths(),
            **_back_office_paths(),
            **_ops_paths(),
        },
        "components": {
            "schemas": {**_model_schemas(), **_response_schemas()},
            "securitySchemes": _security_schemes(),
            "responses": {"Problem": _problem_response("An error (RFC 9457 problem details)")},
        },
    }


def _model_schemas() -> dict[str, Schema]:
    bodies = (EventBody, CloudEventBody, CustomerBody, RedriveBody, CallbackRedriveBody)
    models = [(m, "validation") for m in bodies]
    _, top = models_json_schema(models, ref_template=_REF)  # type: ignore[arg-type]
    schemas = dict(top.get("$defs", {}))
    # The envelope's model takes `data` as any object and validates it as an event
    # afterwards (so errors name `data.<field>`); the document says what that means.
    schemas["CloudEventData"] = _cloudevent_data(schemas["EventBody"])
    schemas["CloudEventBody"]["properties"]["data"] = _ref("CloudEventData")
    return schemas


def _cloudevent_data(event: Schema) -> Schema:
    """The event as `data` of an envelope: the same schema, with `id` optional."""
    return {
        **deepcopy(event),
        "title": "CloudEventData",
        "description": "The event, as POST /v1/events takes it as application/json; "
        "without an `id` of its own it takes the envelope's.",
        "required": [name for name in event["required"] if name != "id"],
    }


def _ref(name: str) -> Schema:
    return {"$ref": _REF.format(model=name)}


# --- responses ----------------------------------------------------------------------
def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem_response(description: str) -> Schema:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _ref("Problem")}}}


def _problems(*statuses: int) -> dict[str, Schema]:
    return {str(status): {"$ref": "#/components/responses/Problem"} for status in statuses}


def _nullable(type_: str, **extra: Any) -> Schema:
    return {"type": [type_, "null"], **extra}


def _object(required: list[str] | None = None, **properties: Schema) -> Schema:
    return {"type": "object", "required": required or list(properties), "properties": properties}


_STR: Schema = {"type": "string"}
_TIME: Schema = {"type": "string", "format": "date-time"}
_INT: Schema = {"type": "integer"}
_CHANNEL: Schema = {"type": "string", "enum": list(CHANNELS)}
_STATE: Schema = {"type": "string", "enum": [s.value for s in NotificationState]}


def _response_schemas() -> dict[str, Schema]:
    return {
        "Problem": _problem_schema(),
        "Accepted": _object(
            event_id=_STR,
            duplicate={"type": "boolean"},
            outcome={
                "type": "string",
                "enum": ["planned", "no_rule", "stale", "unchanged", "unreachable"],
            },
            notification_ids={"type": "array", "items": _STR},
        ),
        "Customer": _customer_schema(),
        "Notification": _notification_schema(),
        "NotificationList": _object(notifications={"type": "array", "items": _ref("Notification")}),
        "Timeline": _object(
            case_id=_STR, entries={"type": "array", "items": _ref("TimelineEntry")}
        ),
        "TimelineEntry": _object(
            at=_TIME,
            kind=_STR,
            notification_id=_nullable("string"),
            detail={"type": "object"},
        ),
        "RedriveResult": _object(
            requested=_INT,
            redriven=_INT,
            ids={"type": "array", "items": _STR},
            skipped={"type": "array", "items": _STR},
        ),
        "Status": _object(status=_STR),
        "Readiness": _object(
            ["status"],
            status=_STR,
            subscriptions={
                "type": "object",
                "description": "each [[subscriptions]] name; present when any is configured",
                "additionalProperties": _object(
                    state={"enum": ["starting", "consuming", "reconnecting", "stopped"]},
                    transport={"enum": ["amqp", "nats", "redis"]},
                    source=_STR,
                    lag=_nullable("integer"),
                    last_error=_nullable("string"),
                ),
            },
        ),
        **_golden_thread_schemas(),
        **_back_office_schemas(),
    }


def _problem_schema() -> Schema:
    field_error = _object(field=_STR, message=_STR)
    return _object(
        ["type", "title", "status"],
        type={"type": "string", "format": "uri-reference"},
        title=_STR,
        status=_INT,
        detail=_STR,
        errors={"type": "array", "items": field_error},
    )


def _customer_schema() -> Schema:
    return _object(
        id=_STR,
        name=_nullable("string"),
        email=_nullable("string"),
        phone=_nullable("string", description="E.164"),
        chat_webhook=_nullable("string"),
        locale=_nullable("string"),
        timezone=_nullable("string"),
        channels={"type": "array", "items": _CHANNEL},
        opted_out={"type": "array", "items": _CHANNEL},
        channel_order={
            "type": "array",
            "items": _CHANNEL,
            "description": "the customer's own order, chosen on the case page (read-only)",
        },
        quiet_hours={
            "type": "boolean",
            "description": "false when the customer turned quiet hours off (read-only)",
        },
    )


def _notification_schema() -> Schema:
    attempt = _object(
        number=_INT,
        started_at=_TIME,
        finished_at=_nullable("string", format="date-time"),
        outcome={
            "type": "string",
            "enum": ["in_flight", "sent", "transient", "permanent", "fenced", "lease_expired"],
        },
        detail=_STR,
        provider_id=_nullable("string"),
    )
    return _object(
        id=_STR,
        case_id=_STR,
        customer_id=_STR,
        kind={"type": "string", "enum": ["status", "follow_up", "test"]},
        template=_STR,
        status=_STR,
        channel=_CHANNEL,
        state=_STATE,
        priority={"type": "string", "enum": ["low", "normal", "high", "urgent"]},
        attempts=_INT,
        due_at=_TIME,
        created_at=_TIME,
        updated_at=_TIME,
        message_key=_STR,
        previous_id=_nullable("string"),
        provider_id=_nullable("string"),
        segments=_nullable("integer"),
        last_error=_nullable("string"),
        attempt_log={"type": "array", "items": attempt},
    )


# --- security ---------------------------------------------------------------------
def _header_key(name: str, description: str) -> Schema:
    return {"type": "apiKey", "in": "header", "name": name, "description": description}


def _security_schemes() -> dict[str, Schema]:
    return {
        "sourceToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "A source's token ([sources.NAME] token).",
        },
        "webhookId": _header_key("webhook-id", "Standard Webhooks message id."),
        "webhookTimestamp": _header_key("webhook-timestamp", "Unix seconds, within 5 minutes."),
        "webhookSignature": _header_key(
            "webhook-signature",
            "Standard Webhooks v1 HMAC-SHA256 signature(s) with a source's whsec_ secret.",
        ),
        "adminToken": {"type": "http", "scheme": "bearer", "description": "admin.token"},
        "twilioSignature": _header_key("X-Twilio-Signature", "Twilio request signature."),
    }


_SOURCE_AUTH: list[dict[str, list[str]]] = [
    {"sourceToken": []},
    {"webhookId": [], "webhookTimestamp": [], "webhookSignature": []},
]
_ADMIN: list[dict[str, list[str]]] = [{"adminToken": []}]


# --- paths --------------------------------------------------------------------------
def _operation(
    summary: str, responses: dict[str, Schema], *, store: bool = True, **extra: Any
) -> Schema:
    # Any request may carry text no store can keep (NUL, a lone surrogate) in its path,
    # query or form: api/storable.py answers 422 for it before the handler runs. Any
    # that needs the store answers 503 (with Retry-After) while the store does not.
    always = _problems(422, 503) if store else _problems(422)
    return {"summary": summary, "responses": {**responses, **always}, **extra}


def _path_param(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": _STR}


def _query_param(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _keyset_page() -> list[Schema]:
    """`limit` and `cursor` of a keyset listing (api/cursors.py)."""
    limit = {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE_DEFAULT}
    return [_query_param("limit", limit), _query_param("cursor", _STR)]


def _json_body(schema: Schema, **others: Schema) -> Schema:
    content = {"application/json": {"schema": schema}}
    content.update({media: {"schema": s} for media, s in others.items()})
    return {"required": True, "content": content}


def _ingest_paths() -> dict[str, Schema]:
    body = _json_body(_ref("EventBody"))
    body["content"]["application/cloudevents+json"] = {"schema": _ref("CloudEventBody")}
    post = _operation(
        "Record a case status change",
        {
            "202": _json(_ref("Accepted"), "Committed (or the first result again, if duplicate)"),
            **_problems(400, 401, 409, 413, 415, 422),
        },
        description="Idempotent per (source, id): the same id again answers the first result "
        "with duplicate true; the same id with another body is a 409.",
        security=_SOURCE_AUTH,
        requestBody=body,
    )
    return {"/v1/events": {"post": post}}


def _read_paths() -> dict[str, Schema]:
    return {
        "/v1/cases/{case_id}/timeline": {"get": _timeline()},
        "/v1/notifications": {"get": _list_notifications()},
        "/v1/notifications/{notification_id}": {"get": _get_notification()},
        "/v1/notifications/{notification_id}/retry": {"post": _redrive_one()},
        "/v1/notifications/{notification_id}/send-now": {"post": _send_now()},
        "/v1/notifications/retry": {"post": _redrive_many()},
        "/v1/customers/{customer_id}": {"get": _get_customer(), "put": _put_customer()},
    }


def _admin(summary: str, responses: dict[str, Schema], *problems: int, **extra: Any) -> Schema:
    return _operation(
        summary, {**responses, **_problems(401, 403, *problems)}, security=_ADMIN, **extra
    )


def _timeline() -> Schema:
    return _admin(
        "A case's events, notifications, attempts and follow-ups, in order",
        {"200": _json(_ref("Timeline"), "The timeline")},
        404,
        parameters=[_path_param("case_id")],
    )


def _list_notifications() -> Schema:
    params = [
        _query_param("state", _STATE),
        _query_param("channel", _CHANNEL),
        _query_param("case_id", _STR),
        _query_param("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
    ]
    return _admin(
        "List notifications, e.g. the dead letters (state=dead)",
        {"200": _json(_ref("NotificationList"), "Matching notifications")},
        422,
        parameters=params,
    )


def _get_notification() -> Schema:
    return _admin(
        "One notification with every attempt",
        {"200": _json(_ref("Notification"), "The notification")},
        404,
        parameters=[_path_param("notification_id")],
    )


def _redrive_one() -> Schema:
    return _admin(
        "Re-drive a dead or failed notification",
        {"202": _json(_ref("Notification"), "Pending again, with fresh attempts")},
        404,
        409,
        parameters=[_path_param("notification_id")],
    )


def _send_now() -> Schema:
    return _admin(
        "Send a held (pending) notification now",
        {"202": _json(_ref("Notification"), "Due now, as urgent: past quiet hours and the cap")},
        404,
        409,
        parameters=[_path_param("notification_id")],
        description="For a message quiet hours or the frequency cap are holding: it becomes "
        "urgent and due now (urgent bypasses both, and still counts toward the cap); the "
        "timeline says `released`. 409 when the notification is not pending.",
    )


def _redrive_many() -> Schema:
    return _admin(
        "Re-drive notifications in bulk: by ids, or by state and filters",
        {"202": _json(_ref("RedriveResult"), "What was re-driven")},
        400,
        413,
        415,
        422,
        requestBody=_json_body(_ref("RedriveBody")),
    )


def _get_customer() -> Schema:
    return _admin(
        "A stored customer",
        {"200": _json(_ref("Customer"), "The customer")},
        404,
        parameters=[_path_param("customer_id")],
    )


def _put_customer() -> Schema:
    return _admin(
        "Store a customer whole (phone normalised to E.164; opt-outs are kept)",
        {
            "200": _json(_ref("Customer"), "Replaced"),
            "201": _json(_ref("Customer"), "Created"),
        },
        400,
        413,
        415,
        422,
        parameters=[_path_param("customer_id")],
        requestBody=_json_body(_ref("CustomerBody")),
    )


def _html(description: str) -> Schema:
    return {"description": description, "content": {"text/html": {"schema": _STR}}}


def _callback_paths() -> dict[str, Schema]:
    token = [_path_param("token")]
    form = {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
    }
    twilio: list[dict[str, list[str]]] = [{"twilioSignature": []}]
    twiml = {"description": "TwiML reply", "content": {"application/xml": {"schema": _STR}}}
    return {
        "/v1/unsubscribe/{token}": {
            "get": _operation(
                "Unsubscribe confirmation page (changes nothing)",
                {"200": _html("Confirmation page"), **_problems(404)},
                parameters=token,
            ),
            "post": _operation(
                "One-click unsubscribe (RFC 8058)",
                {"200": _html("Unsubscribed"), **_problems(404)},
                parameters=token,
            ),
        },
        "/v1/callbacks/twilio/status": {
            "post": _operation(
                "Twilio message status callback",
                {"204": {"description": "Recorded"}, **_problems(400, 403, 404, 415)},
                security=twilio,
                requestBody=form,
            )
        },
        "/v1/callbacks/twilio/inbound": {
            "post": _operation(
                "Inbound SMS: STOP, START, HELP",
                {"200": twiml, **_problems(400, 403, 404, 415)},
                security=twilio,
                requestBody=form,
            )
        },
    }


# --- the golden thread ----------------------------------------------------------------------
_SECONDS: Schema = {"type": ["number", "null"]}


def _golden_thread_schemas() -> dict[str, Schema]:
    contact = _object(
        at=_TIME,
        kind={"type": "string", "enum": [k.value for k in ContactKind]},
        channel=_nullable("string"),
        notification_id=_nullable("string"),
    )
    group = _object(open=_INT, breached_now=_INT, p95_dark_seconds=_SECONDS)
    return {
        "Case": _object(
            case_id=_STR,
            status=_STR,
            source=_nullable("string"),
            customer_id=_STR,
            open={"type": "boolean"},
            opened_at=_TIME,
            dark_since=_TIME,
            dark_seconds=_SECONDS,
            promise_seconds=_SECONDS,
            breached={"type": "boolean"},
            last_contact={"oneOf": [contact, {"type": "null"}]},
        ),
        "CaseList": _object(
            items={"type": "array", "items": _ref("Case")}, next_cursor=_nullable("string")
        ),
        "GoldenThread": _object(
            window_seconds={"type": "number"},
            open_cases=_INT,
            breached_now=_INT,
            dark_seconds=_object(p50=_SECONDS, p95=_SECONDS, max=_SECONDS),
            breaches_in_window=_INT,
            by_status={"type": "object", "additionalProperties": group},
            by_source={"type": "object", "additionalProperties": group},
        ),
    }


def _golden_thread_paths() -> dict[str, Schema]:
    duration = {"type": "string", "pattern": r"^\d+(\.\d+)?(ms|s|m|h|d)$"}
    boolean = {"type": "boolean"}
    cases = _admin(
        "Cases by the golden thread: open, breached, status, source, darkness; darkest first",
        {"200": _json(_ref("CaseList"), "One page; next_cursor fetches the next")},
        422,
        parameters=[
            _query_param("open", boolean),
            _query_param("breached", boolean),
            _query_param("status", _STR),
            _query_param("source", _STR),
            _query_param("dark_longer_than", duration),
            _query_param("order", {"type": "string", "enum": [o.value for o in CaseOrder]}),
            *_keyset_page(),
        ],
    )
    one = _admin(
        "One case: open, dark since when, its promise, breached or not, the last contact",
        {"200": _json(_ref("Case"), "The case")},
        404,
        parameters=[_path_param("case_id")],
    )
    summary = _admin(
        "How dark the open cases are now, by status and source; breaches within the window",
        {"200": _json(_ref("GoldenThread"), "The golden thread now")},
        422,
        parameters=[_query_param("window", duration | {"default": "7d"})],
    )
    return {
        "/v1/cases": {"get": cases},
        "/v1/cases/{case_id}": {"get": one},
        "/v1/golden-thread": {"get": summary},
    }


def _ops_paths() -> dict[str, Schema]:
    metrics = {
        "description": "Prometheus text exposition",
        "content": {"text/plain": {"schema": _STR}},
    }
    home = {
        "description": "A small HTML page linking the studio, this document and the metrics",
        "content": {"text/html": {"schema": _STR}},
    }
    return {
        "/": {
            "get": _operation(
                "Where things are (for a person, in a browser)", {"200": home}, store=False
            )
        },
        "/healthz": {
            "get": _operation("Liveness", {"200": _json(_ref("Status"), "Alive")}, store=False)
        },
        "/readyz": {
            "get": _operation(
                "Readiness: the store answers (subscriptions are listed, not required)",
                {"200": _json(_ref("Readiness"), "Ready"), **_problems(503)},
            )
        },
        "/metrics": {"get": _operation("Prometheus metrics", {"200": metrics})},
        "/openapi.json": {
            "get": _operation(
                "This document",
                {"200": _json({"type": "object"}, "OpenAPI 3.1")},
                store=False,
            )
        },
    }


# --- callbacks to the back office -------------------------------------------------------------
_CALLBACK_STATE: Schema = {"type": "string", "enum": list(CALLBACK_STATES)}
_CALLBACK_TYPE: Schema = {"type": "string", "enum": list(CALLBACK_TYPES)}


def _back_office_schemas() -> dict[str, Schema]:
    body = _object(
        type=_CALLBACK_TYPE,
        id=_STR,
        occurred_at=_TIME,
        case_id=_STR,
        customer_id=_STR,
        status=_STR,
        data={"type": "object"},
    )
    return {
        "Callback": _object(
            id={"type": "string", "description": "the webhook-id of every attempt"},
            source=_STR,
            type=_CALLBACK_TYPE,
            case_id=_STR,
            state=_CALLBACK_STATE,
            attempts=_INT,
            due_at=_TIME,
            last_error=_nullable("string"),
            created_at=_TIME,
            updated_at=_TIME,
            body=body,
        ),
        "CallbackList": _object(
            items={"type": "array", "items": _ref("Callback")}, next_cursor=_nullable("string")
        ),
    }


def _back_office_paths() -> dict[str, Schema]:
    listed = _admin(
        "Callbacks to the back office, newest first: by state (e.g. dead), type and source",
        {"200": _json(_ref("CallbackList"), "One page; next_cursor fetches the next")},
        422,
        parameters=[
            _query_param("state", _CALLBACK_STATE),
            _query_param("type", _CALLBACK_TYPE),
            _query_param("source", _STR),
            *_keyset_page(),
        ],
    )
    one = _admin(
        "One callback: its state, attempts, last error and the body it posts",
        {"200": _json(_ref("Callback"), "The callback")},
        404,
        parameters=[_path_param("callback_id")],
    )
    redrive_one = _admin(
        "Re-drive a dead callback (same webhook-id, fresh attempts)",
        {"202": _json(_ref("Callback"), "Pending again, due now")},
        404,
        409,
        parameters=[_path_param("callback_id")],
    )
    redrive_many = _admin(
        "Re-drive callbacks in bulk: by ids, or the dead ones by type and source",
        {"202": _json(_ref("RedriveResult"), "What was re-driven")},
        400,
        413,
        415,
        422,
        requestBody=_json_body(_ref("CallbackRedriveBody")),
    )
    return {
        "/v1/callbacks": {"get": listed},
        "/v1/callbacks/{callback_id}": {"get": one},
        "/v1/callbacks/{callback_id}/redrive": {"post": redrive_one},
        "/v1/callbacks/redrive": {"post": redrive_many},
    }
