"""The golden thread over HTTP (admin token): one case, the cases filtered and paged,
and the summary. Every bad parameter is a 422 problem naming it, never a 5xx."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from groundcontrol import keys
from groundcontrol.api.auth import admin_only
from groundcontrol.api.cursors import (
    NOT_OURS,
    PAGE_DEFAULT,
    CursorText,
    PageLimit,
    SignedCursors,
    signed_cursors,
)
from groundcontrol.api.problems import ProblemError, field_errors, validation_error
from groundcontrol.durations import parse_duration
from groundcontrol.settings import Settings
from groundcontrol.store.case_views import CaseCursor, CaseFilter, CaseOrder

routes = web.RouteTableDef()

M = TypeVar("M", bound=BaseModel)

DEFAULT_WINDOW = "7d"
LONGEST_WINDOW = timedelta(days=366)


def _duration(value: str | None, longest: timedelta | None = None) -> str | None:
    if value is None:
        return None
    parsed = parse_duration(value)
    if parsed <= timedelta(0):
        raise ValueError("must be longer than 0s")
    if longest is not None and parsed > longest:
        raise ValueError(f"at most {longest.days}d")
    return value


class CaseQuery(BaseModel):
    """The query of `GET /v1/cases`; query strings are text, so not strict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    open: bool | None = None
    breached: bool | None = None
    status: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    source: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    dark_longer_than: str | None = None
    order: CaseOrder = CaseOrder.DARKEST
    limit: PageLimit = PAGE_DEFAULT
    cursor: CursorText | None = None

    _dark = field_validator("dark_longer_than")(_duration)


class WindowQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window: str = DEFAULT_WINDOW

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        _duration(value, LONGEST_WINDOW)
        return value


# --- cursors ------------------------------------------------------------------------------
class Cursors:
    """Keyset cursors of `GET /v1/cases`, made for one order."""

    def __init__(self, signed: SignedCursors) -> None:
        self._signed = signed

    def make(self, order: CaseOrder, after: CaseCursor) -> str:
        return self._signed.make([order.value, after.dark_since.isoformat(), after.case_id])

    def read(self, token: str, order: CaseOrder) -> CaseCursor:
        """The position in `token`; ValueError if it was not made here for `order`."""
        try:
            made_for, since, case_id = self._signed.read(token)
            position = CaseCursor(datetime.fromisoformat(since), str(case_id))
        except (ValueError, TypeError) as exc:
            raise ValueError(NOT_OURS) from exc
        if made_for != order.value:
            raise ValueError(f"made for order={made_for}; ask with the same order")
        return position


def cursors_for(settings: Settings) -> Cursors:
    return Cursors(signed_cursors(settings, "cases-cursor"))


# --- handlers -----------------------------------------------------------------------------
@routes.get("/v1/cases/{case_id}")
@admin_only
async def get_case(request: web.Request) -> web.Response:
    """A case's golden thread: open, dark since when, its promise, breached or not."""
    case_id = request.match_info["case_id"]
    view = await request.app[keys.STORE].get_case(case_id)
    if view is None:
        raise ProblemError(404, detail=f"no case {case_id!r}")
    return web.json_response(view.public_dict(request.app[keys.CLOCK]()))


@routes.get("/v1/cases")
@admin_only
async def list_cases(request: web.Request) -> web.Response:
    """Cases filtered by open, breached, status, source and darkness; darkest first."""
    query = _validate(CaseQuery, request.query)
    settings = request.app[keys.SETTINGS]
    where = _filter(query, settings)
    now = request.app[keys.CLOCK]()
    page = await request.app[keys.STORE].list_cases(where, now)
    cursor = cursors_for(settings).make(query.order, page.next) if page.next else None
    items = [view.public_dict(now) for view in page.items]
    return web.json_response({"items": items, "next_cursor": cursor})


@routes.get("/v1/golden-thread")
@admin_only
async def golden_thread(request: web.Request) -> web.Response:
    """How dark the open cases are now, and the promises broken within `window`."""
    window = parse_duration(_validate(WindowQuery, request.query).window)
    summary = await request.app[keys.STORE].golden_thread(request.app[keys.CLOCK](), window)
    return web.json_response(summary.public_dict(window))


def _filter(query: CaseQuery, settings: Settings) -> CaseFilter:
    if query.source is not None and query.source not in settings.sources:
        known = ", ".join(sorted(settings.sources)) or "none configured"
        raise _invalid("source", f"unknown source {query.source!r} (known: {known})")
    after = None
    if query.cursor is not None:
        try:
            after = cursors_for(settings).read(query.cursor, query.order)
        except ValueError as exc:
            raise _invalid("cursor", str(exc)) from None
    dark = parse_duration(query.dark_longer_than) if query.dark_longer_than else None
    return CaseFilter(
        open=query.open,
        breached=query.breached,
        status=query.status,
        source=query.source,
        dark_longer_than=dark,
        order=query.order,
        limit=query.limit,
        after=after,
    )


def _invalid(name: str, message: str) -> ProblemError:
    return validation_error([{"field": name, "message": message}])


def _validate(model: type[M], query: Any) -> M:
    repeated = [name for name in set(query) if len(query.getall(name)) > 1]
    if repeated:
        raise _invalid(sorted(repeated)[0], "give this parameter once")
    try:
        return model.model_validate(dict(query))
    except ValidationError as exc:
        raise validation_error(field_errors(exc)) from None
