"""RFC 9457 problem details: every error the API answers is `application/problem+json`.

Handlers raise `ProblemError`; `problem_middleware` turns it, aiohttp's own HTTP
errors (404, 405, 413 ...), pydantic validation errors and any uncaught exception
into a problem response.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, TypedDict

from aiohttp import hdrs, web
from pydantic import ValidationError

from groundcontrol.errors import StoreUnavailable

PROBLEM_JSON = "application/problem+json"
ABOUT_BLANK = "about:blank"
VALIDATION = "urn:groundcontrol:problem:validation"
STORE_RETRY_AFTER = "5"  # seconds: a PostgreSQL restart or failover usually takes this long

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FieldError(TypedDict):
    """One invalid input: `field` is a dotted path ("customer.phone") or a parameter name."""

    field: str
    message: str


def problem(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    type_: str = ABOUT_BLANK,
    errors: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A problem+json response. It often quotes what the client sent, so no browser may
    sniff it into something it renders."""
    return web.Response(
        status=status,
        body=json.dumps(problem_document(status, title, detail, type_, errors)).encode(),
        content_type=PROBLEM_JSON,
        headers={"X-Content-Type-Options": "nosniff", **(headers or {})},
    )


def problem_document(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    type_: str = ABOUT_BLANK,
    errors: Sequence[FieldError] | None = None,
) -> dict[str, Any]:
    """The RFC 9457 JSON object. Without a title, the HTTP reason phrase is used,
    as RFC 9457 asks for the `about:blank` type."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = list(errors)
    return body


class ProblemError(Exception):
    """Raised by handlers; answered as a problem+json response by the middleware."""

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        type_: str = ABOUT_BLANK,
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title or HTTPStatus(status).phrase)
        self.status = status
        self.title = title
        self.detail = detail
        self.type_ = type_
        self.errors = errors
        self.headers = headers

    def document(self) -> dict[str, Any]:
        """The problem as JSON, for where there is no response (a dead letter)."""
        return problem_document(self.status, self.title, self.detail, self.type_, self.errors)

    def response(self) -> web.Response:
        return problem(
            self.status,
            self.title,
            self.detail,
            type_=self.type_,
            errors=self.errors,
            headers=self.headers,
        )


def validation_error(errors: Sequence[FieldError], detail: str | None = None) -> ProblemError:
    """422 naming every invalid field."""
    fields = ", ".join(e["field"] for e in errors)
    return ProblemError(
        422,
        "Validation failed",
        detail or f"invalid input: {fields}",
        type_=VALIDATION,
        errors=errors,
    )


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """pydantic errors as `{"field": "customer.phone", "message": ...}`."""
    errors: list[FieldError] = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(part) for part in (*_split(prefix), *err["loc"]))
        message = _OBJECT_EXPECTED if err["type"] in _NOT_AN_OBJECT else _message(err["msg"])
        errors.append({"field": path or "body", "message": message})
    return errors


# pydantic says "a valid dictionary or instance of EventBody": our class names are no
# business of the client's, and a JSON array of events is the usual mistake.
_NOT_AN_OBJECT = frozenset({"model_type", "dict_type", "model_attributes_type"})
_OBJECT_EXPECTED = "must be a JSON object (one event or record, not an array or a value)"


def _split(prefix: str) -> tuple[str, ...]:
    return tuple(prefix.split(".")) if prefix else ()


def _message(msg: str) -> str:
    # Our own validators raise ValueError; pydantic prefixes those with "Value error, ".
    return msg.removeprefix("Value error, ")


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every error as problem+json; an unexpected one is logged and is a 500."""
    try:
        return await handler(request)
    except ProblemError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http_exception(exc)
    except ValidationError as exc:
        return validation_error(field_errors(exc)).response()
    except StoreUnavailable as exc:
        # Nothing was stored: the caller sends the same request again shortly.
        log.warning("%s %s: %s", request.method, request.path, exc)
        return problem(503, detail=str(exc), headers={"Retry-After": STORE_RETRY_AFTER})
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return problem(500, detail="internal error; the server log has the details")


# Headers of aiohttp's own error response that describe its text body, not ours.
_BODY_HEADERS = frozenset(
    h.lower() for h in (hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH, hdrs.CONTENT_ENCODING)
)


def _from_http_exception(exc: web.HTTPException) -> web.Response:
    headers = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
    return problem(exc.status, detail=_detail(exc), headers=headers)


def _detail(exc: web.HTTPException) -> str | None:
    text = (exc.text or "").strip()
    # aiohttp's default body is "404: Not Found": it says nothing the title does not.
    if not text or text == f"{exc.status}: {exc.reason}":
        return None
    return text
