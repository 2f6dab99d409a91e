"""Recent real cases become preview samples with personal fields masked."""

from __future__ import annotations

from datetime import UTC, datetime

from groundcontrol.domain import CaseState, Customer, Priority
from groundcontrol.planning.journeys import parse_journeys
from groundcontrol.store.templates import RecentCase
from groundcontrol.studio.real_samples import (
    as_sample,
    mask_customer,
    mask_email,
    mask_name,
    mask_phone,
    mask_url,
    statuses_using,
)

ADA = Customer(
    id="cust-42",
    name="Ada King Lovelace",
    email="ada@example.com",
    phone="+31612345678",
    chat_webhook="https://chat.example.com/hooks/abc?token=secret",
    locale="nl-NL",
    timezone="Europe/Amsterdam",
    channels=("sms", "email"),
)


def test_names_keep_the_first_name_only() -> None:
    assert mask_name("Ada King Lovelace") == "Ada K••• L•••"
    assert mask_name("Ada") == "Ada"
    assert mask_name(None) is None


def test_addresses_keep_only_what_identifies_no_one() -> None:
    assert mask_email("ada@example.com") == "a•••@example.com"
    assert mask_phone("+31612345678") == "+31•••78"
    assert (
        mask_url("https://chat.example.com/hooks/abc?token=secret")
        == "https://chat.example.com/•••"
    )


def test_a_masked_customer_keeps_what_templates_need() -> None:
    masked = mask_customer(ADA)
    assert (masked.locale, masked.timezone, masked.channels) == (
        ADA.locale,
        ADA.timezone,
        ADA.channels,
    )
    personal = f"{masked.id} {masked.name} {masked.email} {masked.phone} {masked.chat_webhook}"
    for secret in ("cust-42", "Lovelace", "ada@", "12345678", "abc", "token"):
        assert secret not in personal


def test_a_recent_case_becomes_a_numbered_sample() -> None:
    at = datetime(2026, 11, 22, 10, tzinfo=UTC)
    case = CaseState("C-1001", "cust-42", "received", None, at, None, Priority.NORMAL, {"x": 1})
    sample = as_sample(2, RecentCase(case, ADA, {"id": "evt-1"}))
    assert sample.name == "recent 2: received, case C•••"
    assert sample.case.data == {"x": 1}
    assert sample.customer.name == "Ada K••• L•••"
    assert sample.now == at


def test_statuses_using_a_template_include_follow_ups() -> None:
    journeys = parse_journeys(
        {
            "rules": [
                {"status": "received", "template": "case_received"},
                {
                    "status": "in_progress",
                    "template": "case_in_progress",
                    "follow_up": {"after": "1h", "template": "still_working"},
                },
            ]
        }
    )
    assert statuses_using(journeys, "case_received") == {"received"}
    assert statuses_using(journeys, "still_working") == {"in_progress"}
    assert statuses_using(journeys, "unused") == set()
