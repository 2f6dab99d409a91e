"""What the store can hold, checked at the edge: one rule for SQLite and PostgreSQL.

PostgreSQL text and jsonb refuse NUL (U+0000); no engine can encode a lone
surrogate (U+D800..U+DFFF, which JSON's `\\ud800` escapes can produce) as UTF-8;
an INTEGER column holds 64 bits; `1e999` parses to infinity, which is not JSON.
Every such value is refused with a 422 naming where it was (a body field, a path
or query parameter, a form field) before anything is stored, so no engine ever
sees it and the answer is the same on both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy, MultiMapping

from groundcontrol.api.problems import FieldError, Handler, ProblemError, validation_error

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    found = _UNSTORABLE_CHARACTER.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL (U+0000)"
    return f"must not contain a lone surrogate (U+{ord(found.group()):04X})"


def value_problem(value: Any) -> str | None:
    """Why one JSON scalar cannot be stored, or None when it can."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return "must be an integer between -2^63 and 2^63-1"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    return None


def json_errors(payload: Any) -> list[FieldError]:
    """Every value (and key) in a parsed JSON document that the store cannot hold."""
    errors: list[FieldError] = []
    for path, value in _walk(payload):
        problem = value_problem(value)
        if problem is not None:
            errors.append({"field": ".".join(path) or "body", "message": problem})
    return errors


def _walk(payload: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    # Iterative: a document nested as deep as json.loads allows must not hit the
    # recursion limit here.
    stack: list[tuple[tuple[str, ...], Any]] = [((), payload)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if text_problem(key) is not None:
                    yield (*path, _printable(key)), key
                stack.append(((*path, _printable(key)), item))
        elif isinstance(value, list):
            stack.extend(((*path, str(index)), item) for index, item in enumerate(value))
        else:
            yield path, value


def _printable(key: str) -> str:
    """A key as it can be named in an error: NUL and surrogates escaped."""
    return _UNSTORABLE_CHARACTER.sub(lambda found: f"\\u{ord(found.group()):04x}", key)


def refuse_unstorable_json(payload: Any) -> None:
    """422 naming every value in the document that the store cannot hold."""
    errors = json_errors(payload)
    if errors:
        raise validation_error(errors, "the body holds values the store cannot keep")


def parameter_errors(named: Iterable[tuple[str, str]], kind: str) -> list[FieldError]:
    """NUL or lone surrogates in path, query or form parameters, named `kind` `name`."""
    errors: list[FieldError] = []
    for name, value in named:
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            errors.append({"field": f"{kind} {_printable(name)}", "message": problem})
    return errors


_OWN_TEXT_CHECKS = "groundcontrol_checks_its_own_text"


def checks_its_own_text(handler: Handler) -> Handler:
    """Mark a route handler that answers unreadable input itself (the customer's case
    page: a plain 404 for any bad link, its own form checks and private headers), so the
    middleware below leaves its requests alone."""
    setattr(handler, _OWN_TEXT_CHECKS, True)
    return handler


@web.middleware
async def storable_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a request whose path, query or form fields hold text no store can keep."""
    if getattr(request.match_info.handler, _OWN_TEXT_CHECKS, False):
        return await handler(request)
    errors = [
        *parameter_errors(request.match_info.items(), "path"),
        *parameter_errors(request.query.items(), "query"),
        *await _form_errors(request),
    ]
    if text_problem(request.path) is not None and not errors:
        errors = [{"field": "path", "message": text_problem(request.path) or ""}]
    if errors:
        raise validation_error(errors, "the request holds text the store cannot keep")
    return await handler(request)


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | FileField]:
    """The request's form; 400 for one that cannot be parsed (a multipart body without
    its boundary), which aiohttp reports as a ValueError."""
    try:
        return await request.post()
    except ValueError as exc:
        raise ProblemError(400, detail=f"the form body is malformed: {exc}") from None


async def _form_errors(request: web.Request) -> list[FieldError]:
    if request.method not in {"POST", "PUT", "PATCH"} or request.content_type not in _FORMS:
        return []
    # aiohttp caches the parsed form: the handler reads the same one.
    try:
        form: MultiMapping[Any] = await request.post()
    except ValueError:  # a malformed form (no multipart boundary): the handler says so
        return []
    return parameter_errors(((k, v) for k, v in form.items() if isinstance(v, str)), "form")
