"""Refused recipients, as aiosmtplib reports a partial refusal, classified by reply code."""

from __future__ import annotations

from aiosmtplib import SMTPResponse

from groundcontrol.channels.email import refusal_error
from groundcontrol.errors import PermanentDeliveryError, TransientDeliveryError


def test_all_refusals_permanent_is_permanent() -> None:
    error = refusal_error(
        {
            "gone@example.com": SMTPResponse(550, "5.1.1 No such user"),
            "blocked@example.com": SMTPResponse(554, "5.7.1 Rejected"),
        }
    )
    assert isinstance(error, PermanentDeliveryError)
    assert "gone@example.com: 550 5.1.1 No such user" in str(error)
    assert "blocked@example.com: 554 5.7.1 Rejected" in str(error)


def test_any_deferred_recipient_makes_it_transient() -> None:
    error = refusal_error(
        {
            "gone@example.com": SMTPResponse(550, "5.1.1 No such user"),
            "full@example.com": SMTPResponse(452, "4.2.2 Mailbox full"),
        }
    )
    assert isinstance(error, TransientDeliveryError)
    assert not error.outcome_unknown
    assert "full@example.com: 452" in str(error)
