"""The pure parts of the chat channel: the JSON body and the reading of the answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from groundcontrol.channels.base import OutgoingMessage, Receipt
from groundcontrol.channels.chat import (
    build_payload,
    classify_response,
    encode_payload,
    parse_retry_after,
)
from groundcontrol.domain import Customer, RenderedMessage
from groundcontrol.errors import PermanentDeliveryError, TransientDeliveryError

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def message(*, text: str = "Your claim was received.", test: bool = False) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id="n-7",
        message_key="msg-7",
        case_id="C-1001",
        status="received",
        customer=Customer(id="cust-42", name="Ada Lovelace", email="ada@example.com"),
        channel="chat",
        address="https://chat.example.com/hooks/abc",
        rendered=RenderedMessage(text=text),
        thread_key="case-C-1001",
        test=test,
    )


def test_payload_is_the_documented_shape() -> None:
    assert build_payload(message()) == {
        "type": "case.update",
        "text": "Your claim was received.",
        "case_id": "C-1001",
        "status": "received",
        "customer_id": "cust-42",
        "notification_id": "n-7",
        "test": False,
    }


def test_payload_marks_test_sends() -> None:
    assert build_payload(message(test=True))["test"] is True


def test_payload_carries_no_other_customer_data() -> None:
    body = encode_payload(message())

    assert b"ada@example.com" not in body
    assert b"Lovelace" not in body


def test_encoded_body_is_compact_utf8_json_of_the_payload() -> None:
    body = encode_payload(message(text="Uw aanvraag is ontvangen ✓"))

    assert json.loads(body) == build_payload(message(text="Uw aanvraag is ontvangen ✓"))
    assert "✓".encode() in body
    assert b", " not in body
    assert b": " not in body


def test_encoding_is_deterministic() -> None:
    assert encode_payload(message()) == encode_payload(message())


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_success_is_a_receipt_keyed_by_the_message_key(status: int) -> None:
    receipt = classify_response(status, {}, "msg-7", NOW)

    assert receipt == Receipt(provider_id="msg-7", detail=f"HTTP {status}")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_permanent(status: int) -> None:
    with pytest.raises(PermanentDeliveryError, match="redirects are not followed"):
        classify_response(status, {"Location": "http://169.254.169.254/"}, "msg-7", NOW)


def test_gone_disables_the_address() -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        classify_response(410, {}, "msg-7", NOW)

    assert caught.value.disable_address


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_other_client_errors_are_permanent_and_keep_the_address(status: int) -> None:
    with pytest.raises(PermanentDeliveryError, match=f"HTTP {status}") as caught:
        classify_response(status, {}, "msg-7", NOW)

    assert not caught.value.disable_address


@pytest.mark.parametrize("status", [429, 503])
def test_backoff_statuses_carry_retry_after(status: int) -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        classify_response(status, {"Retry-After": "30"}, "msg-7", NOW)

    assert caught.value.retry_after == timedelta(seconds=30)


def test_too_many_requests_was_not_processed() -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        classify_response(429, {}, "msg-7", NOW)

    assert not caught.value.outcome_unknown
    assert caught.value.retry_after is None


def test_request_timeout_is_transient_and_not_processed() -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        classify_response(408, {}, "msg-7", NOW)

    assert not caught.value.outcome_unknown


@pytest.mark.parametrize("status", [500, 502, 504, 599])
def test_server_errors_leave_the_outcome_unknown(status: int) -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        classify_response(status, {"Retry-After": "30"}, "msg-7", NOW)

    assert caught.value.outcome_unknown
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", timedelta(0)),
        ("120", timedelta(seconds=120)),
        (" 45 ", timedelta(seconds=45)),
        ("Sun, 22 Nov 2026 10:05:00 GMT", timedelta(minutes=5)),
        ("Sun, 22 Nov 2026 09:00:00 GMT", timedelta(0)),  # in the past: retry now
    ],
)
def test_retry_after_reads_seconds_and_http_dates(value: str, expected: timedelta) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "٣", "Sun, 22 Nov 2026 10:05:00"])
def test_retry_after_that_cannot_be_read_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None
