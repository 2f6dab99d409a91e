"""build_email: what arrives is parsed back with the stdlib, as a mail client would."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, message_from_string, policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage, Message

import pytest

from groundcontrol.channels import mime
from groundcontrol.channels.base import OutgoingMessage
from groundcontrol.channels.mime import build_email, sender_address, sender_domain
from groundcontrol.domain import Customer, RenderedMessage

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
    "address", ["jö rg@example.com", "jö@rg@example.com", "jö<rg>@example.com", "用户@例子.广告"]
)
def test_an_invalid_non_ascii_recipient_is_a_value_error(address: str) -> None:
    with pytest.raises(ValueError, match="recipient"):
        build_email(make_message(address=address), sender=SENDER)


@pytest.mark.parametrize("name", ["Jörg Müller", 'Ada "the" Lovelace, Countess', ""])
def test_a_non_ascii_local_part_is_written_in_utf8_headers(name: str) -> None:
    address = "用户@xn--fsqu00a.xn--4rr70v"
    customer = Customer(id="cust-42", name=name or None, email=address)
    raw = build_email(make_message(address=address, customer=customer), sender=SENDER).as_bytes()
    assert "用户".encode() in raw  # RFC 6532: raw UTF-8, no encoded word
    email = message_from_string(raw.decode(), policy=policy.default)
    assert isinstance(email, EmailMessage)
    [to] = email["To"].addresses
    assert (to.addr_spec, to.display_name) == (address, name)
    body = email.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == "Bonjour Ada, votre demande est reçue."


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


DUTCH = "Uw aanvraag is ontvangen. Één moment geduld — we zijn er bijna! 🚀"
EQUIVALENCE_CASES = {
    "ascii": RenderedMessage(text="Your request was received.", subject="Received"),
    "ascii with html": RenderedMessage(
        text="Your request was received.", subject="Received", html="<p>Received</p>"
    ),
    "dutch and emoji": RenderedMessage(text=DUTCH, subject="Ontvangen 🚀"),
    "dutch and emoji with html": RenderedMessage(
        text=DUTCH * 20, subject="Één aanvraag — ontvangen 🚀", html=f"<p>{DUTCH}</p>" * 20
    ),
    "long subject": RenderedMessage(text="x", subject="Your case moved on to the next step " * 6),
    "long non-ascii subject": RenderedMessage(text="x", subject="Één aanvraag, ontvangen. " * 8),
}


def stock_build(message: OutgoingMessage, monkeypatch: pytest.MonkeyPatch) -> EmailMessage:
    """The same e-mail built with the stdlib's own header factory, which remembers nothing."""
    with monkeypatch.context() as patch:
        patch.setattr(mime, "POLICY", mime.POLICY.clone(header_factory=HeaderRegistry()))
        return build_email(message, sender=SENDER, now=NOW)


def parts_of(raw: bytes) -> list[tuple[list[tuple[str, str]], object]]:
    """Each MIME part's headers (without the random boundary) and decoded content."""
    email = message_from_bytes(raw, policy=policy.default)
    assert isinstance(email, EmailMessage)
    parts: list[tuple[list[tuple[str, str]], object]] = []
    for part in email.walk():
        assert isinstance(part, EmailMessage)
        boundary = part.get_boundary()
        headers = [
            (name, value.replace(boundary, "BOUNDARY") if boundary else value)
            for name, value in part.items()
        ]
        content = None if part.is_multipart() else part.get_content()
        parts.append((headers, content))
    return parts


@pytest.mark.parametrize("rendered", EQUIVALENCE_CASES.values(), ids=EQUIVALENCE_CASES.keys())
@pytest.mark.parametrize("unsubscribe_url", [None, UNSUBSCRIBE, UNSUBSCRIBE + "y" * 300])
def test_remembered_headers_serialise_as_the_stdlib_does(
    rendered: RenderedMessage, unsubscribe_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = Customer(id="cust-42", name="Zoë van der Berg-Ünal 🚀")
    message = make_message(rendered=rendered, unsubscribe_url=unsubscribe_url, customer=customer)
    for _ in range(2):  # the second build is served from what the first remembered
        built = build_email(message, sender=SENDER, now=NOW)
        stock = stock_build(message, monkeypatch)
        assert parts_of(built.as_bytes()) == parts_of(stock.as_bytes())
        assert _boundary_as(stock, built.as_bytes(), built) == stock.as_bytes()


def _boundary_as(reference: Message, raw: bytes, email: Message) -> bytes:
    """`raw` (the bytes of `email`) with the reference's random boundary in place of its own."""
    own, theirs = email.get_boundary(), reference.get_boundary()
    if own is None or theirs is None:
        return raw
    return raw.replace(own.encode(), theirs.encode())


def test_a_boundary_found_in_a_body_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter([1, 1, 2])
    monkeypatch.setattr(secrets, "randbelow", lambda _: next(draws))
    taken, other = ("=" * 15 + str(n).zfill(19) + "==" for n in (1, 2))
    rendered = RenderedMessage(text=f"Hello\n--{taken}\n", html=f"<p>{taken}</p>")
    built = build_email(make_message(rendered=rendered), sender=SENDER)

    assert built.get_boundary() == other
    email = message_from_bytes(built.as_bytes(), policy=policy.default)
    assert isinstance(email, EmailMessage)
    plain, html = email.get_body(("plain",)), email.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content().splitlines() == ["Hello", f"--{taken}"]
    assert html.get_content().splitlines() == [f"<p>{taken}</p>"]


def test_a_header_remembered_for_one_policy_is_folded_anew_for_another() -> None:
    built = build_email(make_message(), sender=SENDER, now=NOW)
    assert b"\r\n" in built.as_bytes()
    assert b"\r\n" not in built.as_bytes(policy=mime.POLICY.clone(linesep="\n"))
