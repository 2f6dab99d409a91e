"""Input the store cannot hold is a 422 naming where it was, on SQLite and PostgreSQL
alike: never a 5xx, never half stored (issue 17's probe, one test per finding)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.api_harness import Api, event, expect_problem, serve, settings_for
from tests.peers.postgres import postgresql_param, schema_url
from yarl import URL

from groundcontrol.settings import StoreSettings

NUL = "\x00"
SURROGATE = "\ud800"


@pytest.fixture(params=["sqlite", postgresql_param()])
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    if request.param == "sqlite":
        async with serve(settings_for(tmp_path)) as running:
            yield running
        return
    async with (
        schema_url("gc_hostile") as url,
        serve(settings_for(tmp_path, store=StoreSettings(url=url))) as running,
    ):
        yield running


def raw(payload: Any) -> bytes:
    """JSON as a probe sends it: `\\u0000` and `\\ud800` escapes, as ASCII."""
    return json.dumps(payload, ensure_ascii=True).encode()


async def refused(api: Api, payload: Any, field: str, case_id: str = "C-1001") -> None:
    problem = await expect_problem(await api.post_event(raw(payload)), 422, {field})
    assert problem["type"] == "urn:groundcontrol:problem:validation"
    await api.assert_nothing_stored(case_id)


async def test_a_sequence_past_64_bits_is_a_422(api: Api) -> None:
    await refused(api, event(sequence=2**63), "sequence")


async def test_the_largest_64_bit_sequence_is_stored(api: Api) -> None:
    response = await api.post_event(event(sequence=2**63 - 1))
    assert response.status == 202, await response.text()


@pytest.mark.parametrize(
    "occurred_at",
    ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "1969-12-31T23:59:59Z"],
)
async def test_a_time_outside_the_storable_range_is_a_422(api: Api, occurred_at: str) -> None:
    await refused(api, event(occurred_at=occurred_at), "occurred_at")


async def test_a_lone_surrogate_in_data_is_a_422(api: Api) -> None:
    await refused(api, event(data={"x": SURROGATE}), "data.x")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"case_id": f"C-1001{NUL}"}, "case_id"),
        ({"status": f"recei{NUL}ved"}, "status"),
        ({"data": {"note": f"a{NUL}b"}}, "data.note"),
        ({"data": {"list": [1, {"deep": NUL}]}}, "data.list.1.deep"),
        ({"data": {f"k{NUL}": 1}}, "data.k\\u0000"),
        ({"data": {"big": 10**30}}, "data.big"),
        ({"customer": {"id": "cust-42", "name": f"Ada{NUL}"}}, "customer.name"),
        ({"customer": {"id": f"cust{SURROGATE}"}}, "customer.id"),
    ],
)
async def test_unstorable_text_or_numbers_anywhere_in_an_event_are_a_422(
    api: Api, changes: dict[str, Any], field: str
) -> None:
    case_id = "C-1001"
    await refused(api, event(**changes), field, case_id)


async def test_a_number_that_overflows_to_infinity_is_a_422(api: Api) -> None:
    body = raw(event(data={"huge": "HUGE"})).replace(b'"HUGE"', b"1e999")
    await expect_problem(await api.post_event(body), 422, {"data.huge"})
    await api.assert_nothing_stored("C-1001")


async def test_a_cloudevent_names_the_field_inside_its_data(api: Api) -> None:
    envelope = {
        "specversion": "1.0",
        "id": "evt-ce",
        "source": "crm",
        "type": "case.status",
        "data": event(status=f"x{NUL}"),
    }
    response = await api.post_event(raw(envelope), content_type="application/cloudevents+json")
    await expect_problem(response, 422, {"data.status"})


async def test_a_customer_put_with_nul_is_a_422(api: Api) -> None:
    response = await api.admin(
        "PUT",
        "/v1/customers/cust-9",
        data=raw({"name": f"B{NUL}", "channels": []}),
        headers={"Content-Type": "application/json"},
    )
    await expect_problem(response, 422, {"name"})
    await expect_problem(await api.admin("GET", "/v1/customers/cust-9"), 404)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/cases/C%00/timeline", "path case_id"),
        ("/v1/customers/cust%00", "path customer_id"),
        ("/v1/notifications?case_id=C%00", "query case_id"),
    ],
)
async def test_nul_in_a_path_or_query_is_a_422(api: Api, path: str, field: str) -> None:
    response = await api.admin("GET", URL(path, encoded=True))  # type: ignore[arg-type]
    await expect_problem(response, 422, {field})


async def test_nul_in_a_form_field_is_a_422(api: Api) -> None:
    response = await api.client.post("/studio/login", data={"name": f"Ada{NUL}", "token": "x"})
    await expect_problem(response, 422, {"form name"})


async def test_a_multipart_form_without_its_boundary_is_a_400_not_a_500(api: Api) -> None:
    response = await api.client.post(
        "/studio/login", data=b"name=Ada", headers={"Content-Type": "multipart/form-data"}
    )
    problem = await expect_problem(response, 400)
    assert "form body is malformed" in problem["detail"]
