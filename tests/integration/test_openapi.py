"""`/openapi.json` is valid OpenAPI 3.1, lists exactly the routes the app serves, and
its request schemas agree with what the server accepts and refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

pytest.importorskip("groundcontrol.app", reason="the app factory (groundcontrol/app.py) is missing")

from tests.integration.api_harness import Api, event, serve, settings_for

METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with serve(settings_for(tmp_path)) as running:
        yield running


@pytest.fixture
async def document(api: Api) -> dict[str, Any]:
    response = await api.client.get("/openapi.json")
    assert response.status == 200
    return await response.json()  # type: ignore[no-any-return]


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_it_lists_exactly_the_routes_the_app_serves(api: Api, document: dict[str, Any]) -> None:
    # The studio, the ops dashboard and the customer's case page are browser UIs (HTML
    # pages, forms, cookies), not the integration API: docs/studio.md,
    # docs/golden-thread.md and docs/case-page.md document them, the OpenAPI document
    # does not.
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in api.app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and not route.resource.canonical.startswith(("/studio", "/ops", "/c/"))
    }
    documented = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in METHODS
    }
    assert documented == served


def test_every_operation_documents_its_errors_as_problems(document: dict[str, Any]) -> None:
    problem = {"$ref": "#/components/responses/Problem"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s >= "400"}
            assert all(r == problem for r in errors.values()), (method, path)
            if operation.get("security"):
                assert {"401", "403"} & set(errors), (method, path)


def validator(document: dict[str, Any], name: str) -> OAS31Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return OAS31Validator(schema)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (event(), 202),
        (event(case_id=None), 422),
        (event(priority="asap"), 422),
        (event(surprise=1), 422),
        ({k: v for k, v in event().items() if k != "customer"}, 422),
    ],
)
async def test_the_event_schema_agrees_with_the_server(
    api: Api, document: dict[str, Any], body: dict[str, Any], status: int
) -> None:
    valid = validator(document, "EventBody").is_valid(body)
    response = await api.post_event(body)
    assert response.status == status
    assert valid is (status == 202)


def test_every_operation_documents_the_422_for_unstorable_text(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "422" in operation["responses"], (method, path)


async def test_bad_json_to_the_bulk_redrive_is_a_documented_400(
    api: Api, document: dict[str, Any]
) -> None:
    response = await api.admin(
        "POST",
        "/v1/notifications/retry",
        data=b"{",
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400
    assert "400" in document["paths"]["/v1/notifications/retry"]["post"]["responses"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_other_methods_on_the_bulk_redrive_allow_only_post(
    api: Api, document: dict[str, Any], method: str
) -> None:
    response = await api.admin(method, "/v1/notifications/retry")
    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    assert set(document["paths"]["/v1/notifications/retry"]) == {"post"}


def test_every_operation_on_the_store_documents_its_503(document: dict[str, Any]) -> None:
    storeless = {("get", "/"), ("get", "/healthz"), ("get", "/openapi.json")}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            documented = "503" in operation["responses"]
            assert documented != ((method, path) in storeless), (method, path)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"state": "dead"}, 202),
        ({"state": "failed", "channel": "chat", "case_id": "C-1"}, 202),
        ({"ids": ["n-unknown"]}, 202),
        ({"ids": ["n-unknown"], "state": None}, 202),
        ({}, 422),
        ({"limit": 5}, 422),
        ({"ids": ["n-1"], "state": "dead"}, 422),
        ({"ids": ["n-1"], "channel": "chat"}, 422),
        ({"ids": ["n-1"], "case_id": "C-1"}, 422),
        ({"ids": None, "state": None}, 422),
    ],
)
async def test_the_redrive_schema_states_ids_or_state_as_the_server_does(
    api: Api, document: dict[str, Any], body: dict[str, Any], status: int
) -> None:
    valid = validator(document, "RedriveBody").is_valid(body)
    response = await api.admin("POST", "/v1/notifications/retry", json=body)
    assert response.status == status, await response.text()
    assert valid is (status == 202)


def envelope(data: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": "ce-1", "source": "crm", "type": "case", "data": data}


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({k: v for k, v in event().items() if k != "id"}, 202),
        (event(id="evt-own"), 202),
        ({}, 422),
        ({"case_id": "C-1001"}, 422),
        ({**event(), "priority": "asap"}, 422),
    ],
)
async def test_the_cloudevent_schema_states_data_is_an_event(
    api: Api, document: dict[str, Any], data: dict[str, Any], status: int
) -> None:
    valid = validator(document, "CloudEventBody").is_valid(envelope(data))
    response = await api.post_event(envelope(data), content_type="application/cloudevents+json")
    assert response.status == status, await response.text()
    assert valid is (status == 202)
