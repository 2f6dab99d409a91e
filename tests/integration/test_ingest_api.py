"""`POST /v1/events` through a real server and the real SQLite store.

Every refused request must get its 4xx naming the problem and leave nothing stored.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("groundcontrol.app", reason="the app factory (groundcontrol/app.py) is missing")

from tests.integration.api_harness import (
    CLOUDEVENTS,
    Api,
    event,
    expect_problem,
    serve,
    settings_for,
)

MIB = 1024 * 1024


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with serve(settings_for(tmp_path)) as running:
        yield running


async def accepted(api: Api, payload: Any, **kwargs: Any) -> dict[str, Any]:
    response = await api.post_event(payload, **kwargs)
    assert response.status == 202, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def test_an_event_is_accepted_after_commit(api: Api) -> None:
    result = await accepted(api, event())
    assert result["event_id"] == "evt-0001"
    assert result["duplicate"] is False
    assert result["outcome"] == "planned"
    assert len(result["notification_ids"]) == 1
    timeline = await (await api.timeline("C-1001")).json()
    assert timeline["case_id"] == "C-1001"
    assert timeline["entries"], "the event is on the timeline"
    notification = await api.admin("GET", f"/v1/notifications/{result['notification_ids'][0]}")
    assert (await notification.json())["case_id"] == "C-1001"


async def test_an_inline_customer_is_upserted_with_an_e164_phone(api: Api) -> None:
    await accepted(api, event())
    customer = await (await api.admin("GET", "/v1/customers/cust-42")).json()
    assert customer["phone"] == "+31612345678"
    assert customer["channels"] == ["email", "sms"]
    assert customer["locale"] == "nl-NL"


async def test_a_duplicate_returns_the_first_result_and_sends_nothing_new(api: Api) -> None:
    first = await accepted(api, event())
    again = await accepted(api, event())
    assert again == {**first, "duplicate": True}
    assert len(await api.notifications(case_id="C-1001")) == 1


async def test_whitespace_and_key_order_do_not_make_a_conflict(api: Api) -> None:
    await accepted(api, event())
    reordered = json.dumps(dict(reversed(list(event().items()))), indent=4).encode()
    assert (await accepted(api, reordered))["duplicate"] is True


async def test_the_same_id_with_another_body_is_a_409_and_changes_nothing(api: Api) -> None:
    await accepted(api, event())
    before = await (await api.timeline("C-1001")).json()
    response = await api.post_event(event(status="resolved"))
    problem = await expect_problem(response, 409)
    assert "evt-0001" in problem["detail"]
    assert await (await api.timeline("C-1001")).json() == before
    assert len(await api.notifications(case_id="C-1001")) == 1


async def test_ids_are_per_source(api: Api) -> None:
    await accepted(api, event())
    from_erp = await api.post_signed(event())
    assert from_erp.status == 202
    assert (await from_erp.json())["duplicate"] is False


async def test_a_standard_webhooks_signed_event_is_accepted(api: Api) -> None:
    response = await api.post_signed(event(case_id="C-signed"))
    assert response.status == 202, await response.text()
    assert (await api.timeline("C-signed")).status == 200


async def test_a_signature_by_an_unknown_secret_is_401(api: Api) -> None:
    other = "whsec_" + base64.b64encode(b"not-our-secret").decode()
    response = await api.post_signed(event(case_id="C-x"), secret=other)
    await expect_problem(response, 401)
    await api.assert_nothing_stored("C-x", "cust-42")


@pytest.mark.parametrize(
    "headers",
    [
        {"webhook-id": "m", "webhook-timestamp": "now", "webhook-signature": "v1,abc"},
        {"webhook-id": "m", "webhook-timestamp": "1795255200", "webhook-signature": "%%%"},
        {"webhook-signature": "v1,abc"},
        {"webhook-id": "m", "webhook-timestamp": "9" * 40, "webhook-signature": "v1,=="},
    ],
)
async def test_malformed_signature_headers_are_401_not_5xx(
    api: Api, headers: dict[str, str]
) -> None:
    response = await api.post_event(event(case_id="C-x"), token=None, headers=headers)
    problem = await expect_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "signature" in problem["detail"] or "Bearer" in problem["detail"]
    await api.assert_nothing_stored("C-x", "cust-42")


@pytest.mark.parametrize("skew", [timedelta(minutes=6), -timedelta(minutes=6)])
async def test_a_signature_outside_five_minutes_is_401(api: Api, skew: timedelta) -> None:
    response = await api.post_signed(event(case_id="C-x"), at=api.clock() + skew)
    await expect_problem(response, 401)
    await api.assert_nothing_stored("C-x", "cust-42")


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
async def test_no_or_a_wrong_token_is_401(api: Api, token: str | None) -> None:
    response = await api.post_event(event(case_id="C-x"), token=token)
    await expect_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    await api.assert_nothing_stored("C-x", "cust-42")


async def test_the_admin_token_is_not_a_source_token(api: Api) -> None:
    response = await api.post_event(event(case_id="C-x"), token="admin-token")
    await expect_problem(response, 401)


def padded(size: int) -> bytes:
    """A valid event padded with trailing spaces to exactly `size` bytes."""
    body = json.dumps(event(case_id="C-big")).encode()
    return body + b" " * (size - len(body))


async def test_a_body_of_exactly_1_mib_is_accepted(api: Api) -> None:
    assert (await api.post_event(padded(MIB))).status == 202


async def test_a_body_of_1_mib_and_1_byte_is_413(api: Api) -> None:
    response = await api.post_event(padded(MIB + 1))
    await expect_problem(response, 413)
    await api.assert_nothing_stored("C-big", "cust-42")


async def test_a_chunked_body_over_the_limit_is_413(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        body = padded(MIB + 1)
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = await api.client.post(
        "/v1/events",
        data=chunks(),
        headers={"Authorization": "Bearer crm-token", "Content-Type": "application/json"},
    )
    await expect_problem(response, 413)
    await api.assert_nothing_stored("C-big", "cust-42")


@pytest.mark.parametrize("phone", ["0612345678", "+31 6 1234", "not a phone", "+999 123456789"])
async def test_an_invalid_phone_is_422_naming_customer_phone(api: Api, phone: str) -> None:
    customer = {**event()["customer"], "phone": phone}
    response = await api.post_event(event(customer=customer))
    await expect_problem(response, 422, {"customer.phone"})
    await api.assert_nothing_stored("C-1001", "cust-42")


async def test_a_missing_case_id_is_422_naming_case_id(api: Api) -> None:
    body = event()
    del body["case_id"]
    problem = await expect_problem(await api.post_event(body), 422, {"case_id"})
    assert problem["type"] == "urn:groundcontrol:problem:validation"
    await api.assert_nothing_stored("C-1001", "cust-42")


async def test_every_invalid_field_is_named_at_once(api: Api) -> None:
    customer = {"id": "cust-42", "email": "ada@", "timezone": "Mars/Base", "channels": ["fax"]}
    body = event(occurred_at="2026-11-22 10:00", priority="asap", sequence=-1, customer=customer)
    body["extra"] = True
    response = await api.post_event(body)
    fields = {
        "occurred_at",
        "priority",
        "sequence",
        "extra",
        "customer.email",
        "customer.timezone",
        "customer.channels.0",
    }
    await expect_problem(response, 422, fields)
    await api.assert_nothing_stored("C-1001", "cust-42")


@pytest.mark.parametrize("body", [b"{", b"", b'{"id": NaN}', b"\xff\xfe{}", b"[" * 100_000])
async def test_malformed_json_is_400(api: Api, body: bytes) -> None:
    await expect_problem(await api.post_event(body), 400)


@pytest.mark.parametrize("body", [b"[]", b'"event"', b"null"])
async def test_json_that_is_not_an_object_is_422(api: Api, body: bytes) -> None:
    await expect_problem(await api.post_event(body), 422, {"body"})


async def test_an_array_of_events_gets_a_problem_naming_no_internal_class(api: Api) -> None:
    response = await api.post_event(json.dumps([event()]).encode())
    problem = await response.json()
    assert response.status == 422
    assert problem["errors"] == [
        {
            "field": "body",
            "message": "must be a JSON object (one event or record, not an array or a value)",
        }
    ]
    assert "EventBody" not in json.dumps(problem)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_another_content_type_is_415(api: Api, content_type: str) -> None:
    response = await api.post_event(event(case_id="C-x"), content_type=content_type)
    await expect_problem(response, 415)
    await api.assert_nothing_stored("C-x", "cust-42")


def cloudevent(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": "ce-0001",
        "source": "/workflow/claims",
        "type": "com.example.case.status_changed",
        "datacontenttype": "application/json",
        "data": data,
    }
    envelope.update(changes)
    return envelope


async def test_a_cloudevents_envelope_is_accepted(api: Api) -> None:
    data = {k: v for k, v in event(case_id="C-ce").items() if k != "id"}
    result = await accepted(api, cloudevent(data), content_type=CLOUDEVENTS)
    assert result["event_id"] == "ce-0001"
    assert (await api.timeline("C-ce")).status == 200


async def test_a_cloudevent_names_fields_inside_data(api: Api) -> None:
    customer = {**event()["customer"], "phone": "12345"}
    envelope = cloudevent(event(case_id="C-ce", customer=customer))
    response = await api.post_event(envelope, content_type=CLOUDEVENTS)
    await expect_problem(response, 422, {"data.customer.phone"})
    await api.assert_nothing_stored("C-ce", "cust-42")


async def test_a_bad_cloudevents_envelope_is_422(api: Api) -> None:
    envelope = cloudevent(event(case_id="C-ce"), specversion="0.3")
    del envelope["type"]
    response = await api.post_event(envelope, content_type=CLOUDEVENTS)
    await expect_problem(response, 422, {"specversion", "type"})
    await api.assert_nothing_stored("C-ce", "cust-42")


async def test_an_unknown_customer_reference_is_422_and_stores_nothing(api: Api) -> None:
    body = event(customer={"id": "cust-unknown"})
    problem = await expect_problem(await api.post_event(body), 422, {"customer.id"})
    assert "PUT /v1/customers/" in problem["detail"]
    await api.assert_nothing_stored("C-1001", "cust-unknown")
    customer = {"email": "bob@example.com", "channels": ["email"]}
    stored = await api.admin("PUT", "/v1/customers/cust-unknown", json=customer)
    assert stored.status == 201
    retried = await accepted(api, body)
    assert retried["duplicate"] is False, "the refused attempt did not use up the id"


async def test_a_stored_customer_can_be_referenced_by_id(api: Api) -> None:
    await api.admin(
        "PUT", "/v1/customers/cust-7", json={"phone": "+31612345678", "channels": ["sms"]}
    )
    result = await accepted(api, event(customer={"id": "cust-7"}))
    assert result["outcome"] == "planned"
    [notification] = await api.notifications(case_id="C-1001")
    assert notification["channel"] == "sms"
