"""RFC 9457 problem details and the middleware that makes every error one."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, ConfigDict

from groundcontrol.api.problems import (
    PROBLEM_JSON,
    VALIDATION,
    ProblemError,
    problem,
    problem_middleware,
    validation_error,
)


class Strict(BaseModel):
    model_config = ConfigDict(strict=True)
    count: int


async def raises_problem(request: web.Request) -> web.Response:
    raise ProblemError(409, "Conflicting event", "evt-1 differs", type_="urn:x:conflict")


async def crashes(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals")


async def invalid(request: web.Request) -> web.Response:
    Strict.model_validate({"count": "many"})
    return web.Response()


async def bad_request(request: web.Request) -> web.Response:
    raise web.HTTPBadRequest(text="say it properly")


async def redirects(request: web.Request) -> web.Response:
    raise web.HTTPFound("/elsewhere")


async def reads(request: web.Request) -> web.Response:
    return web.Response(body=await request.read())


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application(middlewares=[problem_middleware], client_max_size=1024)
    app.router.add_get("/problem", raises_problem)
    app.router.add_get("/crash", crashes)
    app.router.add_get("/invalid", invalid)
    app.router.add_get("/bad", bad_request)
    app.router.add_get("/redirect", redirects)
    app.router.add_post("/read", reads)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def body_of(response: web.Response) -> dict[str, object]:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)  # type: ignore[no-any-return]


def test_problem_has_the_rfc9457_members() -> None:
    response = problem(404, detail="no case 'C-1'")
    assert response.status == 404
    assert response.content_type == PROBLEM_JSON
    assert body_of(response) == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no case 'C-1'",
    }


def test_problem_lists_field_errors_and_keeps_headers() -> None:
    error = validation_error([{"field": "customer.phone", "message": "not a phone number"}])
    response = error.response()
    body = body_of(response)
    assert response.status == 422
    assert body["type"] == VALIDATION
    assert body["errors"] == [{"field": "customer.phone", "message": "not a phone number"}]
    assert "customer.phone" in str(body["detail"])
    challenged = problem(401, headers={"WWW-Authenticate": "Bearer"})
    assert challenged.headers["WWW-Authenticate"] == "Bearer"
    assert challenged.headers["X-Content-Type-Options"] == "nosniff"


async def test_every_answered_problem_forbids_sniffing(
    client: TestClient[web.Request, web.Application],
) -> None:
    for path in ("/problem", "/crash", "/invalid", "/no-such-route"):
        response = await client.get(path)
        assert response.content_type == PROBLEM_JSON, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path


async def test_a_raised_problem_is_answered(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/problem")
    assert response.status == 409
    assert response.content_type == PROBLEM_JSON
    assert await response.json(content_type=PROBLEM_JSON) == {
        "type": "urn:x:conflict",
        "title": "Conflicting event",
        "status": 409,
        "detail": "evt-1 differs",
    }


async def test_an_uncaught_error_is_a_logged_generic_500(
    client: TestClient[web.Request, web.Application], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await client.get("/crash")
    body = await response.json(content_type=PROBLEM_JSON)
    assert response.status == 500
    assert body["title"] == "Internal Server Error"
    assert "secret internals" not in json.dumps(body)
    assert "secret internals" in caplog.text


async def test_a_pydantic_error_is_a_422_not_a_500(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/invalid")
    body = await response.json(content_type=PROBLEM_JSON)
    assert response.status == 422
    assert [e["field"] for e in body["errors"]] == ["count"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("DELETE", "/problem", 405), ("GET", "/bad", 400)],
)
async def test_aiohttp_errors_become_problems(
    client: TestClient[web.Request, web.Application], method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status == status
    assert response.content_type == PROBLEM_JSON
    body = await response.json(content_type=PROBLEM_JSON)
    assert body["status"] == status


async def test_405_keeps_the_allow_header(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.delete("/problem")
    assert "GET" in response.headers["Allow"]


async def test_a_http_error_text_becomes_the_detail(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/bad")
    assert (await response.json(content_type=PROBLEM_JSON))["detail"] == "say it properly"


async def test_aiohttp_413_on_read_is_a_problem(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post("/read", data=b"x" * 2048)
    assert response.status == 413
    assert response.content_type == PROBLEM_JSON


async def test_redirects_pass_through(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/redirect", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/elsewhere"
