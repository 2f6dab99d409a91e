"""The ingest and customer bodies: what is accepted, how it is normalised, what is named."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from groundcontrol.api.problems import field_errors
from groundcontrol.api.schemas import (
    CustomerBody,
    EventBody,
    to_customer,
    to_event,
    unwrap_cloudevent,
    validation_context,
)
from groundcontrol.domain import Priority


def event(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "evt-1",
        "case_id": "C-1",
        "status": "received",
        "occurred_at": "2026-11-22T10:00:00Z",
        "customer": {"id": "cust-42", "phone": "+31612345678", "channels": ["sms"]},
    }
    body.update(changes)
    return body


def customer(**changes: Any) -> dict[str, Any]:
    return event(customer={"id": "cust-42", **changes})


def errors_of(
    payload: Any, model: type[EventBody] | type[CustomerBody] = EventBody
) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(payload)
    return {e["field"]: e["message"] for e in field_errors(info.value)}


def test_the_design_example_converts_to_a_domain_event() -> None:
    body = EventBody.model_validate(
        event(
            priority="high",
            sequence=3,
            data={"case_title": "Address change", "nested": {"any": [1, None]}},
            customer={
                "id": "cust-42",
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "phone": "+31 6 1234 5678",
                "chat_webhook": "https://chat.example.com/hooks/abc",
                "locale": "nl_nl",
                "timezone": "Europe/Amsterdam",
                "channels": ["sms", "email", "chat"],
            },
        )
    )
    domain = to_event(body, "crm", "hash")
    assert (domain.source, domain.id, domain.case_id, domain.status) == (
        "crm",
        "evt-1",
        "C-1",
        "received",
    )
    assert domain.occurred_at == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert domain.priority is Priority.HIGH
    assert domain.sequence == 3
    assert domain.body_hash == "hash"
    assert domain.data["nested"] == {"any": [1, None]}
    assert domain.customer.fields["phone"] == "+31612345678"
    assert domain.customer.fields["locale"] == "nl-NL"
    assert domain.customer.fields["channels"] == ("sms", "email", "chat")


def test_an_inline_customer_patches_only_the_fields_sent() -> None:
    body = EventBody.model_validate(customer(email=None, name="Ada"))
    patch = to_event(body, "crm", "").customer
    assert patch.id == "cust-42"
    assert dict(patch.fields) == {"email": None, "name": "Ada"}


def test_a_customer_reference_carries_no_fields() -> None:
    patch = to_event(EventBody.model_validate(customer()), "crm", "").customer
    assert dict(patch.fields) == {}


def test_occurred_at_is_converted_to_utc() -> None:
    body = EventBody.model_validate(event(occurred_at="2026-11-22T12:30:00.5+02:00"))
    assert body.occurred_at == datetime(2026, 11, 22, 10, 30, 0, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    ["2026-11-22T10:00:00", "2026-11-22", 1_700_000_000, "yesterday", "2026-13-22T10:00:00Z"],
)
def test_occurred_at_must_be_rfc3339_with_an_offset(value: Any) -> None:
    assert "occurred_at" in errors_of(event(occurred_at=value))


@pytest.mark.parametrize("missing", ["id", "case_id", "status", "occurred_at", "customer"])
def test_required_fields_are_named_when_missing(missing: str) -> None:
    body = event()
    del body[missing]
    assert errors_of(body) == {missing: "Field required"}


def test_types_are_strict() -> None:
    errors = errors_of(event(case_id=1001, sequence="3", priority=2))
    assert set(errors) == {"case_id", "sequence", "priority"}


def test_an_unknown_top_level_field_is_refused_but_data_takes_anything() -> None:
    assert set(errors_of(event(casee_id="x"))) == {"casee_id"}
    EventBody.model_validate(event(data={"whatever": {"deep": True}}))


@pytest.mark.parametrize("value", ["0612345678", "+3161234", "+31 6 1234 56789 0", "phone"])
def test_an_invalid_phone_names_customer_phone(value: str) -> None:
    assert set(errors_of(customer(phone=value))) == {"customer.phone"}


@pytest.mark.parametrize(
    ("value", "normalised"),
    [("+1 (415) 555-2671", "+14155552671"), ("+44 20 7946 0958", "+442079460958")],
)
def test_phones_are_normalised_to_e164(value: str, normalised: str) -> None:
    assert CustomerBody.model_validate({"phone": value}).phone == normalised


@pytest.mark.parametrize(
    "value", ["ada", "ada@", "@example.com", "ada@example", "a da@example.com", "ada@-x-.com"]
)
def test_an_invalid_email_is_named(value: str) -> None:
    assert set(errors_of(customer(email=value))) == {"customer.email"}


@pytest.mark.parametrize("value", ["ada@example.com", "a.b+tag@mail.example.co.uk"])
def test_valid_emails_pass(value: str) -> None:
    assert CustomerBody.model_validate({"email": value}).email == value


def test_an_idn_email_domain_becomes_punycode() -> None:
    email = CustomerBody.model_validate({"email": "ada@bücher.de"}).email
    assert email == "ada@xn--bcher-kva.de"


@pytest.mark.parametrize("value", ["ü@bücher.de", "bjørn@example.com"])
def test_a_non_ascii_local_part_is_refused_naming_smtputf8(value: str) -> None:
    assert "SMTPUTF8" in errors_of(customer(email=value))["customer.email"]


SMTPUTF8_OFFERED = validation_context(smtputf8=True)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
        ("jörg@bücher.de", "jörg@xn--bcher-kva.de"),
        ("jo\u0308rg@example.com", "jörg@example.com"),  # NFC: one code point for ö
    ],
)
def test_a_non_ascii_local_part_is_taken_when_smtputf8_is_offered(value: str, stored: str) -> None:
    body = CustomerBody.model_validate({"email": value}, context=SMTPUTF8_OFFERED)
    assert body.email == stored
    no = validation_context(smtputf8=False)
    with pytest.raises(ValidationError, match="SMTPUTF8"):
        CustomerBody.model_validate({"email": value}, context=no)


@pytest.mark.parametrize(
    "value", ["ü" * 33 + "@example.com", "jö rg@example.com", "jö\x07rg@example.com"]
)
def test_a_non_ascii_local_part_still_has_to_be_an_address(value: str) -> None:
    # 33 x "ü" is 66 octets in UTF-8: over the local part's 64.
    with pytest.raises(ValidationError, match="not an email address"):
        CustomerBody.model_validate({"email": value}, context=SMTPUTF8_OFFERED)


@pytest.mark.parametrize(
    ("value", "tag"), [("en", "en"), ("EN-us", "en-US"), ("zh-Hant-TW", "zh-Hant-TW")]
)
def test_locales_are_normalised(value: str, tag: str) -> None:
    assert CustomerBody.model_validate({"locale": value}).locale == tag


def test_unknown_locale_and_timezone_are_named() -> None:
    errors = errors_of(customer(locale="xx-YY", timezone="Mars/Olympus"))
    assert set(errors) == {"customer.locale", "customer.timezone"}


def test_channels_must_be_known_and_unique() -> None:
    assert set(errors_of(customer(channels=["sms", "sms"]))) == {"customer.channels"}
    assert set(errors_of(customer(channels=["fax"]))) == {"customer.channels.0"}


@pytest.mark.parametrize("value", ["ftp://example.com/x", "/hooks/abc", "not a url"])
def test_the_chat_webhook_must_be_an_http_url(value: str) -> None:
    assert set(errors_of(customer(chat_webhook=value))) == {"customer.chat_webhook"}


def test_priority_is_one_of_four() -> None:
    assert set(errors_of(event(priority="critical"))) == {"priority"}


def test_sequence_is_not_negative() -> None:
    assert set(errors_of(event(sequence=-1))) == {"sequence"}


def test_a_non_object_body_is_named_body() -> None:
    assert set(errors_of([event()])) == {"body"}


def test_to_customer_builds_the_whole_customer() -> None:
    body = CustomerBody.model_validate(
        {"name": "Ada", "phone": "+31 6 12345678", "channels": ["sms", "email"]}
    )
    stored = to_customer("cust-42", body)
    assert stored.id == "cust-42"
    assert stored.phone == "+31612345678"
    assert stored.channels == ("sms", "email")
    assert stored.email is None
    assert stored.opted_out == frozenset()


def cloudevent(**changes: Any) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": "ce-1",
        "source": "/crm",
        "type": "com.example.case.status",
        "datacontenttype": "application/json",
        "data": {k: v for k, v in event().items() if k != "id"},
    }
    envelope.update(changes)
    return envelope


def test_a_cloudevent_gives_its_id_to_data_without_one() -> None:
    payload = unwrap_cloudevent(cloudevent())
    assert EventBody.model_validate(payload).id == "ce-1"


def test_the_data_id_wins_over_the_cloudevent_id() -> None:
    payload = unwrap_cloudevent(cloudevent(data=event(id="evt-7")))
    assert payload["id"] == "evt-7"


def test_cloudevent_extension_attributes_are_allowed() -> None:
    unwrap_cloudevent(cloudevent(traceparent="00-abc-def-01"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"specversion": "0.3"}, "specversion"),
        ({"source": ""}, "source"),
        ({"type": None}, "type"),
        ({"data": "text"}, "data"),
    ],
)
def test_a_bad_cloudevent_envelope_is_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        unwrap_cloudevent(cloudevent(**changes))
    assert {e["field"] for e in field_errors(info.value)} == {field}
