"""A broker message as an event: the event JSON, a CloudEvents structured envelope or
binary mode, refused with the problem the webhook would answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from groundcontrol.api.problems import ProblemError
from groundcontrol.subscriptions.base import Message
from groundcontrol.subscriptions.bodies import decode

EVENT: dict[str, Any] = {
    "id": "evt-1",
    "case_id": "C-1",
    "status": "received",
    "occurred_at": "2026-11-22T10:00:00Z",
    "customer": {"id": "cust-1", "email": "ada@example.com"},
}
DATA = {key: value for key, value in EVENT.items() if key != "id"}
ATTRIBUTES = {"specversion": "1.0", "id": "evt-1", "source": "crm", "type": "case.status"}
ENVELOPE = {**ATTRIBUTES, "data": DATA}


def message(payload: Any, **fields: Any) -> Message:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Message(body=body, **fields)


@pytest.mark.parametrize(
    "sent",
    [
        message(EVENT),
        message(EVENT, content_type="application/json; charset=utf-8"),
        message(ENVELOPE, content_type="application/cloudevents+json"),
        message(ENVELOPE),  # no content type (a Redis entry): `specversion` tells
        message(DATA, content_type="application/json", attributes=ATTRIBUTES),
        message(DATA, attributes=ATTRIBUTES),
    ],
)
def test_every_shape_is_the_same_event_with_the_same_body_hash(sent: Message) -> None:
    decoded = decode(sent, "crm")
    plain = decode(message(EVENT), "crm")

    assert decoded.event == plain.event
    assert decoded.event.source == "crm" and decoded.event.id == "evt-1"


def test_an_envelope_prefixes_the_fields_its_errors_name() -> None:
    assert decode(message(ENVELOPE), "crm").prefix == "data"
    with pytest.raises(ProblemError) as raised:
        decode(message({**ENVELOPE, "data": {**DATA, "status": 7}}), "crm")
    assert raised.value.errors == [
        {"field": "data.status", "message": "Input should be a valid string"}
    ]


@pytest.mark.parametrize(
    ("sent", "status", "fields"),
    [
        (message(b"{not json"), 400, None),
        (message(b""), 400, None),
        (message(b"[1, NaN]"), 400, None),
        (message({**EVENT, "status": ""}), 422, {"status"}),
        (message(EVENT, content_type="text/plain"), 415, None),
        (message(DATA, attributes=ATTRIBUTES, content_type="text/xml"), 415, None),
        (message({**ENVELOPE, "specversion": "0.3"}), 422, {"specversion"}),
        (message(DATA, attributes={"specversion": "1.0"}), 422, {"id", "source", "type"}),
    ],
)
def test_what_cannot_be_processed_raises_the_webhooks_problem(
    sent: Message, status: int, fields: set[str] | None
) -> None:
    with pytest.raises(ProblemError) as raised:
        decode(sent, "crm")

    problem = raised.value.document()
    assert problem["status"] == status
    if fields is not None:
        assert {error["field"] for error in problem["errors"]} == fields
