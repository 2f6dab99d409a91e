"""The callbacks to the back office over HTTP (admin token): list them, read one, and
re-drive dead ones, one or in bulk, like the notifications' dead letters. Every bad
parameter is a 422 problem naming it, never a 5xx."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from groundcontrol import keys
from groundcontrol.api.auth import admin_only
from groundcontrol.api.cursors import NOT_OURS, PAGE_DEFAULT, CursorText, PageLimit, signed_cursors
from groundcontrol.api.ingest import load_json, read_body, require_json
from groundcontrol.api.problems import ProblemError, field_errors, validation_error
from groundcontrol.api.schemas import Text
from groundcontrol.settings import CALLBACK_TYPES, Settings
from groundcontrol.store.callback_views import (
    DEAD,
    STATES,
    CallbackCursor,
    CallbackFilter,
    CallbackView,
)
from groundcontrol.store.contract import Store

routes = web.RouteTableDef()

M = TypeVar("M", bound=BaseModel)

CALLBACK_STATES = STATES


def _one_of(allowed: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown value {value!r}: use {', '.join(allowed)}")
        return value

    return AfterValidator(check)


CallbackState = Annotated[str, _one_of(CALLBACK_STATES)]
CallbackType = Annotated[str, _one_of(CALLBACK_TYPES)]
Source = Annotated[str, Field(min_length=1, max_length=100)]


class CallbackQuery(BaseModel):
    """The query of `GET /v1/callbacks`; query strings are text, so not strict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: CallbackState | None = None
    type: CallbackType | None = None
    source: Source | None = None
    limit: PageLimit = PAGE_DEFAULT
    cursor: CursorText | None = None


class CallbackRedriveBody(BaseModel):
    """`POST /v1/callbacks/redrive`: either `ids`, or the dead ones matching a filter."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    ids: Annotated[list[Text], Field(min_length=1, max_length=1000)] | None = None
    state: Literal["dead"] | None = None
    type: CallbackType | None = None
    source: Source | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100

    @model_validator(mode="after")
    def _one_selector(self) -> CallbackRedriveBody:
        if (self.ids is None) == (self.state is None):
            raise ValueError("give either ids or state (with optional type and source)")
        if self.ids is not None and (self.type or self.source):
            raise ValueError("type and source filter by state; they do not go with ids")
        return self


@routes.get("/v1/callbacks")
@admin_only
async def list_callbacks(request: web.Request) -> web.Response:
    """Callbacks newest first, filtered by state, type and source: the dead letters."""
    query = _validate(CallbackQuery, _query(request))
    settings = request.app[keys.SETTINGS]
    _check_source(query.source, settings)
    where = CallbackFilter(
        query.state, query.type, query.source, query.limit, _after(query.cursor, settings)
    )
    page = await request.app[keys.STORE].page_callbacks(where)
    cursor = _make_cursor(page.next, settings) if page.next else None
    return web.json_response(
        {"items": [view.public_dict() for view in page.items], "next_cursor": cursor}
    )


# "redrive" is the bulk re-drive (POST), not a callback id.
@routes.get("/v1/callbacks/{callback_id:(?!redrive$)[^/]+}")
@admin_only
async def get_callback(request: web.Request) -> web.Response:
    """One callback: its state, attempts, last error and the body it posts."""
    view = await _callback(request.app[keys.STORE], request.match_info["callback_id"])
    return web.json_response(view.public_dict())


@routes.post("/v1/callbacks/{callback_id}/redrive")
@admin_only
async def redrive_one(request: web.Request) -> web.Response:
    """Post a dead callback again, with fresh attempts and the same webhook-id."""
    store = request.app[keys.STORE]
    view = await _callback(store, request.match_info["callback_id"])
    now = request.app[keys.CLOCK]()
    if view.state != DEAD or not await store.redrive_callback(view.id, now):
        raise ProblemError(409, detail=f"callback {view.id!r} is {view.state}: not dead")
    done = await _callback(store, view.id)  # before the poster may take it (read.py `_requeued`)
    request.app[keys.WAKE]()
    return web.json_response(done.public_dict(), status=202)


@routes.post("/v1/callbacks/redrive")
@admin_only
async def redrive_many(request: web.Request) -> web.Response:
    """Re-drive in bulk: the given ids, or every dead one matching a filter."""
    body = _validate(CallbackRedriveBody, await _json_body(request))
    _check_source(body.source, request.app[keys.SETTINGS])
    store = request.app[keys.STORE]
    ids = body.ids or await _dead_ids(store, body)
    now = request.app[keys.CLOCK]()
    redriven = [cid for cid in ids if await store.redrive_callback(cid, now)]
    if redriven:
        request.app[keys.WAKE]()
    done = set(redriven)
    skipped = [cid for cid in ids if cid not in done]
    return web.json_response(
        {"requested": len(ids), "redriven": len(redriven), "ids": redriven, "skipped": skipped},
        status=202,
    )


async def _dead_ids(store: Store, body: CallbackRedriveBody) -> list[str]:
    where = CallbackFilter(DEAD, body.type, body.source, body.limit)
    return [view.id for view in (await store.page_callbacks(where)).items]


async def _callback(store: Store, callback_id: str) -> CallbackView:
    view = await store.get_callback(callback_id)
    if view is None:
        raise ProblemError(404, detail=f"no callback {callback_id!r}")
    return view


# --- parameters -----------------------------------------------------------------------------
def _check_source(source: str | None, settings: Settings) -> None:
    if source is not None and source not in settings.sources:
        known = ", ".join(sorted(settings.sources)) or "none configured"
        raise _invalid("source", f"unknown source {source!r} (known: {known})")


def _make_cursor(after: CallbackCursor, settings: Settings) -> str:
    position = [after.created_at.isoformat(), after.callback_id]
    return signed_cursors(settings, "callbacks-cursor").make(position)


def _after(token: str | None, settings: Settings) -> CallbackCursor | None:
    if token is None:
        return None
    try:
        created_at, callback_id = signed_cursors(settings, "callbacks-cursor").read(token)
        return CallbackCursor(datetime.fromisoformat(created_at), str(callback_id))
    except (ValueError, TypeError):
        raise _invalid("cursor", NOT_OURS) from None


def _invalid(name: str, message: str) -> ProblemError:
    return validation_error([{"field": name, "message": message}])


def _query(request: web.Request) -> dict[str, Any]:
    repeated = sorted(name for name in set(request.query) if len(request.query.getall(name)) > 1)
    if repeated:
        raise _invalid(repeated[0], "give this parameter once")
    return dict(request.query)


async def _json_body(request: web.Request) -> Any:
    body = await read_body(request, request.app[keys.SETTINGS].server.max_body_bytes)
    require_json(request.content_type)
    return load_json(body)


def _validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(field_errors(exc)) from None
