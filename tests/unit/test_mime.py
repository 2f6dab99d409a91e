"""build_email: what arrives is parsed back with the stdlib, as a mail client would."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from groundcontrol.channels.base import OutgoingMessage, RenderedMessage
from groundcontrol.channels.mime import build_email, sender_address, sender_domain
from groundcontrol.domain import Customer

SENDER = "Ground Control <updates@gc.example.com>"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
UNSUBSCRIBE = "https://gc.example.com/v1/unsubscribe/v1.ZW1haWw6Y3VzdC00Mg." + "x" * 43


def make_message(**changes: object) -> OutgoingMessage:
    message = OutgoingMessage(
        notification_id="n-1",
        message_key="0f8e2a7c-key",
        case_id="C-1001",
        status="received",
        customer=Customer(id="cust-42", name="Ada Lovelace", email="ada@example.com"),
        channel="email",
        address="ada@example.com",
        rendered=RenderedMessage(
            text="Bonjour Ada, votre demande est reçue.",
            subject="Votre demande — reçue",
            html="<p>Bonjour Ada, votre demande est <b>reçue</b>.</p>",
        ),
        thread_key="C-1001",
        unsubscribe_url=UNSUBSCRIBE,
    )
    return replace(message, **changes)  # type: ignore[arg-type]


def parsed(
    message: OutgoingMessage, *, domain: str | None = None, now: datetime = NOW
) -> EmailMessage:
    built = build_email(message, sender=SENDER, domain=domain, now=now)
    email = message_from_bytes(built.as_bytes(), policy=policy.default)
    assert isinstance(email, EmailMessage)
    return email


def test_text_and_html_are_alternatives() -> None:
    email = parsed(make_message())
    assert email.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in email.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    plain = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content().strip() == "Bonjour Ada, votre demande est reçue."
    assert html.get_content().strip() == "<p>Bonjour Ada, votre demande est <b>reçue</b>.</p>"


def test_without_html_it_is_plain_text() -> None:
    email = parsed(make_message(rendered=RenderedMessage(text="Hello", subject="Hi")))
    assert email.get_content_type() == "text/plain"
    assert email.get_content().strip() == "Hello"


def test_bytes_are_seven_bit_clean() -> None:
    raw = build_email(make_message(), sender=SENDER, now=NOW).as_bytes()
    assert raw.isascii()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_addressing_headers() -> None:
    email = parsed(make_message())
    assert email["Subject"] == "Votre demande — reçue"
    assert email["From"] == SENDER
    assert email["To"] == "Ada Lovelace <ada@example.com>"
    assert email["Date"].datetime == NOW
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["X-GroundControl-Notification"] == "n-1"
    assert email["X-GroundControl-Test"] is None


def test_a_multi_line_subject_becomes_one_line() -> None:
    rendered = RenderedMessage(text="x", subject="  Your case\n  moved on \r\n")
    assert parsed(make_message(rendered=rendered))["Subject"] == "Your case moved on"


def test_message_id_is_stable_across_builds() -> None:
    first = parsed(make_message())
    again = parsed(make_message(), now=datetime(2026, 11, 23, tzinfo=UTC))
    assert first["Message-ID"] == again["Message-ID"] == "<0f8e2a7c-key@gc.example.com>"


def test_keys_with_odd_characters_still_make_valid_distinct_ids() -> None:
    dotted = parsed(make_message(message_key="a.b", thread_key="case 7/x"))
    escaped = parsed(make_message(message_key="a=2Eb"))
    assert dotted["Message-ID"] == "<a=2Eb@gc.example.com>"
    assert escaped["Message-ID"] == "<a=3D2Eb@gc.example.com>"
    assert dotted["References"] == "<case-case=207=2Fx@gc.example.com>"


def test_messages_of_one_case_thread_together() -> None:
    first = parsed(make_message())
    follow_up = parsed(make_message(notification_id="n-2", message_key="other", status="done"))
    other_case = parsed(make_message(thread_key="C-2002"))
    assert first["In-Reply-To"] == first["References"] == "<case-C-1001@gc.example.com>"
    assert (follow_up["In-Reply-To"], follow_up["References"]) == (
        first["In-Reply-To"],
        first["References"],
    )
    assert follow_up["Message-ID"] != first["Message-ID"]
    assert other_case["References"] == "<case-C-2002@gc.example.com>"


def test_one_click_unsubscribe_headers_keep_the_url_verbatim() -> None:
    email = parsed(make_message())
    assert email["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_no_unsubscribe_url_no_unsubscribe_headers() -> None:
    email = parsed(make_message(unsubscribe_url=None))
    assert email["List-Unsubscribe"] is None
    assert email["List-Unsubscribe-Post"] is None


def test_test_sends_are_marked() -> None:
    assert parsed(make_message(test=True))["X-GroundControl-Test"] == "yes"


def test_the_domain_comes_from_the_sender_unless_given() -> None:
    assert parsed(make_message(), domain="mail.example.org")["Message-ID"] == (
        "<0f8e2a7c-key@mail.example.org>"
    )


def test_a_customer_without_a_name_gets_a_bare_address() -> None:
    customer = Customer(id="cust-42", email="ada@example.com")
    assert parsed(make_message(customer=customer))["To"] == "ada@example.com"


@pytest.mark.parametrize(
    "address", ["not-an-address", "a b@example.com", "a@b@example.com", "ada@exämple.com", ""]
)
def test_an_invalid_recipient_is_a_value_error(address: str) -> None:
    with pytest.raises(ValueError, match="recipient"):
        build_email(make_message(address=address), sender=SENDER)


@pytest.mark.parametrize(
    "url", ["https://x.example/a b", "https://x.example/\r\nBcc: eve@example.com"]
)
def test_an_unsafe_unsubscribe_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="List-Unsubscribe"):
        build_email(make_message(unsubscribe_url=url), sender=SENDER)


def test_sender_parts() -> None:
    assert sender_domain(SENDER) == "gc.example.com"
    assert sender_address(SENDER) == "updates@gc.example.com"
    with pytest.raises(ValueError, match="domain"):
        sender_domain("Ground Control")
