"""Activity lines: what each decision says, scrubbed, and nothing when the level is off."""

from __future__ import annotations

import logging

import pytest
from tests.unit.delivery.test_decisions import claim

from groundcontrol.delivery import activity
from groundcontrol.store.contract import Decision, DecisionKind


def test_an_outbox_send_names_the_file(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "groundcontrol.activity")
    sent = Decision(
        DecisionKind.SENT, detail="written to var/outbox/x.eml", provider_id="outbox:x.eml"
    )
    activity.decided(claim(), sent)
    [record] = caplog.records
    assert record.getMessage().endswith("sent to the outbox: var/outbox/x.eml")
    assert record.fields["outbox_file"] == "var/outbox/x.eml"  # type: ignore[attr-defined]


def test_addresses_and_numbers_are_scrubbed() -> None:
    text = activity.scrub("550 ada.l+x@mail.example.com unknown; To +31 6 1234 5678 invalid")
    assert text == "550 <email> unknown; To <phone> invalid"


def test_nothing_is_formatted_when_the_level_is_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "groundcontrol.activity")
    activity.decided(claim(), Decision(DecisionKind.SENT, provider_id="SM1"))
    assert caplog.records == []
