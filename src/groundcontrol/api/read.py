"""The admin read side: case timelines, notifications and dead-letter re-drives, customers.

Every route needs the admin token (`auth.admin_only`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from groundcontrol import keys
from groundcontrol.api.auth import admin_only
from groundcontrol.api.ingest import load_json, read_body, require_json
from groundcontrol.api.problems import FieldError, ProblemError, field_errors, validation_error
from groundcontrol.api.schemas import CustomerBody, Text, to_customer, validation_context
from groundcontrol.domain import ChannelName, NotificationState
from groundcontrol.store.contract import NotificationFilter, NotificationView, Store

routes = web.RouteTableDef()

M = TypeVar("M", bound=BaseModel)

REDRIVABLE = frozenset({NotificationState.DEAD, NotificationState.FAILED})


class NotificationQuery(BaseModel):
    """The query of `GET /v1/notifications`; query strings are text, so not strict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: NotificationState | None = None
    channel: ChannelName | None = None
    case_id: Text | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100

    def to_filter(self) -> NotificationFilter:
        return NotificationFilter(self.state, self.channel, self.case_id, self.limit)


# `_one_selector` below, as JSON Schema for /openapi.json: either `ids` (and no filter)
# or `state` (with optional filters), never both, never neither.
_ONE_SELECTOR: dict[str, Any] = {
    "anyOf": [
        {
            "required": ["ids"],
            "properties": {
                "ids": {"type": "array"},
                "state": {"type": "null"},
                "channel": {"type": "null"},
                "case_id": {"type": "null"},
            },
        },
        {
            "required": ["state"],
            "properties": {"state": {"type": "string"}, "ids": {"type": "null"}},
        },
    ]
}


class RedriveBody(BaseModel):
    """`POST /v1/notifications/retry`: either `ids`, or a filter over dead or failed ones."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, json_schema_extra=_ONE_SELECTOR
    )

    ids: Annotated[list[Text], Field(min_length=1, max_length=1000)] | None = None
    state: Literal["dead", "failed"] | None = None
    channel: ChannelName | None = None
    case_id: Text | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100

    @model_validator(mode="after")
    def _one_selector(self) -> RedriveBody:
        if (self.ids is None) == (self.state is None):
            raise ValueError("give either ids or state (with optional channel and case_id)")
        if self.ids is not None and (self.channel or self.case_id):
            raise ValueError("channel and case_id filter by state; they do not go with ids")
        return self


@routes.get("/v1/cases/{case_id}/timeline")
@admin_only
async def get_timeline(request: web.Request) -> web.Response:
    """Everything that happened to a case, in order."""
    case_id = request.match_info["case_id"]
    entries = await request.app[keys.STORE].timeline(case_id)
    if entries is None:
        raise ProblemError(404, detail=f"no case {case_id!r}")
    return web.json_response(
        {"case_id": case_id, "entries": [entry.public_dict() for entry in entries]}
    )


@routes.get("/v1/notifications")
@admin_only
async def list_notifications(request: web.Request) -> web.Response:
    """Notifications filtered by state, channel and case: the dead-letter list."""
    query = _validate(NotificationQuery, dict(request.query))
    views = await request.app[keys.STORE].list_notifications(query.to_filter())
    return web.json_response({"notifications": [view.public_dict() for view in views]})


# "retry" is the bulk re-drive (POST), not a notification id: without the exclusion a
# PUT there answered 405 with `Allow: GET`, and a GET looked up a notification "retry".
@routes.get("/v1/notifications/{notification_id:(?!retry$)[^/]+}")
@admin_only
async def get_notification(request: web.Request) -> web.Response:
    """One notification with every attempt."""
    view = await _notification(request.app[keys.STORE], request.match_info["notification_id"])
    return web.json_response(view.public_dict())


@routes.post("/v1/notifications/{notification_id}/retry")
@admin_only
async def redrive_one(request: web.Request) -> web.Response:
    """Send a dead or failed notification again, with fresh attempts."""
    store = request.app[keys.STORE]
    view = await _notification(store, request.match_info["notification_id"])
    if view.state not in REDRIVABLE or not await store.redrive(view.id, request.app[keys.CLOCK]()):
        raise ProblemError(
            409, detail=f"notification {view.id!r} is {view.state}: not dead or failed"
        )
    return await _requeued(request, view.id)


@routes.post("/v1/notifications/{notification_id}/send-now")
@admin_only
async def send_now(request: web.Request) -> web.Response:
    """Send a pending (held) notification now, past quiet hours and the frequency cap."""
    store = request.app[keys.STORE]
    view = await _notification(store, request.match_info["notification_id"])
    if view.state is not NotificationState.PENDING or not await store.send_now(
        view.id, request.app[keys.CLOCK]()
    ):
        raise ProblemError(409, detail=f"notification {view.id!r} is {view.state}: not pending")
    return await _requeued(request, view.id)


async def _requeued(request: web.Request, notification_id: str) -> web.Response:
    """202 with the notification as this request left it, read before the dispatcher is
    woken: it may claim the notification at once."""
    done = await _notification(request.app[keys.STORE], notification_id)
    request.app[keys.WAKE]()
    return web.json_response(done.public_dict(), status=202)


@routes.post("/v1/notifications/retry")
@admin_only
async def redrive_many(request: web.Request) -> web.Response:
    """Re-drive in bulk: the given ids, or every dead (or failed) one matching a filter."""
    body = _validate(RedriveBody, await _json_body(request))
    store = request.app[keys.STORE]
    ids = body.ids or [view.id for view in await store.list_notifications(_filter(body))]
    now = request.app[keys.CLOCK]()
    redriven = [nid for nid in ids if await store.redrive(nid, now)]
    if redriven:
        request.app[keys.WAKE]()
    skipped = [nid for nid in ids if nid not in set(redriven)]
    return web.json_response(
        {"requested": len(ids), "redriven": len(redriven), "ids": redriven, "skipped": skipped},
        status=202,
    )


@routes.get("/v1/customers/{customer_id}")
@admin_only
async def get_customer(request: web.Request) -> web.Response:
    customer_id = request.match_info["customer_id"]
    customer = await request.app[keys.STORE].get_customer(customer_id)
    if customer is None:
        raise ProblemError(404, detail=f"no customer {customer_id!r}")
    return web.json_response(customer.public_dict())


@routes.put("/v1/customers/{customer_id}")
@admin_only
async def put_customer(request: web.Request) -> web.Response:
    """Store a customer whole (opt-outs and case-page preferences are kept: they are the
    customer's, not ours); 201 when it is new."""
    customer_id = request.match_info["customer_id"]
    context = validation_context(smtputf8=request.app[keys.SMTPUTF8].accepted)
    body = _validate(CustomerBody, await _json_body(request), context)
    _check_ids(customer_id, body)
    store = request.app[keys.STORE]
    existing = await store.get_customer(customer_id)
    customer = to_customer(customer_id, body)
    if existing is not None:
        customer = customer.keeping_choices_of(existing)
    await store.put_customer(customer, request.app[keys.CLOCK]())
    stored = await store.get_customer(customer_id)
    assert stored is not None, "the store lost a customer it just committed"
    return web.json_response(stored.public_dict(), status=201 if existing is None else 200)


def _check_ids(customer_id: str, body: CustomerBody) -> None:
    errors: list[FieldError] = []
    if not 1 <= len(customer_id) <= 200:
        errors.append({"field": "id", "message": "the id in the path must be 1 to 200 characters"})
    if body.id is not None and body.id != customer_id:
        errors.append({"field": "id", "message": "differs from the id in the path"})
    if errors:
        raise validation_error(errors)


async def _notification(store: Store, notification_id: str) -> NotificationView:
    view = await store.get_notification(notification_id)
    if view is None:
        raise ProblemError(404, detail=f"no notification {notification_id!r}")
    return view


def _filter(body: RedriveBody) -> NotificationFilter:
    state = NotificationState(body.state) if body.state else None
    return NotificationFilter(state, body.channel, body.case_id, body.limit)


async def _json_body(request: web.Request) -> Any:
    body = await read_body(request, request.app[keys.SETTINGS].server.max_body_bytes)
    require_json(request.content_type)
    return load_json(body)


def _validate(model: type[M], data: Any, context: dict[str, Any] | None = None) -> M:
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise validation_error(field_errors(exc)) from None
