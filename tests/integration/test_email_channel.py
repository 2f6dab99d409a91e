"""EmailChannel against a real aiosmtpd server on 127.0.0.1, scripted to fail in every class.

The server runs on the test's own event loop (aiosmtpd's SMTP protocol behind
`loop.create_server` on port 0), so there is no port guessing and no thread: the
handler's records are read after each send without any synchronisation.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from groundcontrol.channels.base import OutgoingMessage
from groundcontrol.channels.email import EmailChannel
from groundcontrol.domain import Customer, RenderedMessage
from groundcontrol.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from groundcontrol.settings import EmailSettings

SENDER = "Ground Control <updates@gc.example.com>"


class ScriptedHandler:
    """Accepts mail and records it, unless told to answer otherwise."""

    def __init__(self) -> None:
        self.received: list[tuple[Envelope, EmailMessage]] = []
        self.mail_replies: list[str] = []  # consumed one per MAIL command
        self.rcpt_replies: dict[str, str] = {}
        self.data_reply = "250 2.0.0 Ok: queued as 4QXYZ123"
        self.hang_on_data = False
        self.mail_commands = 0
        self.noops = 0

    async def handle_NOOP(
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> str:
        self.noops += 1
        return "250 OK"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self.mail_commands += 1
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.hang_on_data:
            await asyncio.Event().wait()
        if self.data_reply.startswith("250"):
            content = envelope.original_content or b""
            self.received.append((envelope, _parse(content)))
        return self.data_reply


class SmtpServer:
    """aiosmtpd on loopback: plaintext, STARTTLS required, or implicit TLS."""

    def __init__(
        self,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit: ssl.SSLContext | None = None,
        smtputf8: bool = False,
    ) -> None:
        self.handler = ScriptedHandler()
        self.smtputf8 = smtputf8  # offered on connections accepted from now on
        self.connections: list[SMTP] = []
        self.port = 0
        self._starttls = starttls
        self._implicit = implicit
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, "127.0.0.1", 0, ssl=self._implicit)
        self.port = self._server.sockets[0].getsockname()[1]

    def drop_connections(self) -> None:
        for connection in self.connections:
            if connection.transport is not None:
                connection.transport.close()

    async def stop(self) -> None:
        self.drop_connections()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _accept(self) -> SMTP:
        connection = SMTP(
            self.handler,
            hostname="mx.test",
            tls_context=self._starttls,
            require_starttls=self._starttls is not None,
            enable_SMTPUTF8=self.smtputf8,
        )
        self.connections.append(connection)
        return connection


@pytest.fixture
async def server() -> AsyncIterator[SmtpServer]:
    smtp = SmtpServer()
    await smtp.start()
    yield smtp
    await smtp.stop()


def settings_for(port: int, **overrides: Any) -> EmailSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "from": SENDER,
        "timeout": "5s",
        "pool_size": 2,
    }
    return EmailSettings.model_validate(values | overrides)


@pytest.fixture
async def channel(server: SmtpServer) -> AsyncIterator[EmailChannel]:
    email = EmailChannel(settings_for(server.port))
    await email.open()
    server.connections.clear()  # open()'s SMTPUTF8 probe (closed): tests count sends'
    yield email
    await email.close()


def make_message(number: int = 1, address: str = "ada@example.com") -> OutgoingMessage:
    return OutgoingMessage(
        notification_id=f"n-{number}",
        message_key=f"key-{number}",
        case_id="C-1001",
        status="received",
        customer=Customer(id="cust-42", name="Ada Lovelace", email=address),
        channel="email",
        address=address,
        rendered=RenderedMessage(
            text="Your address change was received.",
            subject="We received your request",
            html="<p>Your address change was <b>received</b>.</p>",
        ),
        thread_key="C-1001",
        unsubscribe_url="https://gc.example.com/v1/unsubscribe/v1.abc.def",
    )


def _parse(content: bytes) -> EmailMessage:
    parsed = message_from_bytes(content, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def test_a_sent_message_arrives_intact(server: SmtpServer, channel: EmailChannel) -> None:
    receipt = await channel.send(make_message())

    [(envelope, email)] = server.handler.received
    assert envelope.mail_from == "updates@gc.example.com"
    assert envelope.rcpt_tos == ["ada@example.com"]
    assert email["To"] == "Ada Lovelace <ada@example.com>"
    assert email["Message-ID"] == "<key-1@gc.example.com>"
    assert email["References"] == "<case-C-1001@gc.example.com>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content().strip() == "Your address change was received."
    assert "<b>received</b>" in html.get_content()
    assert receipt.provider_id == "4QXYZ123"
    assert "queued as 4QXYZ123" in receipt.detail


async def test_without_a_queue_id_the_receipt_names_the_message_id(
    server: SmtpServer, channel: EmailChannel
) -> None:
    server.handler.data_reply = "250 OK"
    receipt = await channel.send(make_message())
    assert receipt.provider_id == "<key-1@gc.example.com>"


async def test_sends_reuse_one_connection(server: SmtpServer, channel: EmailChannel) -> None:
    await channel.send(make_message(1))
    await channel.send(make_message(2))
    assert len(server.handler.received) == 2
    assert len(server.connections) == 1


async def test_concurrent_sends_stay_within_the_pool_size(
    server: SmtpServer, channel: EmailChannel
) -> None:
    await asyncio.gather(*(channel.send(make_message(n)) for n in range(6)))
    assert len(server.handler.received) == 6
    assert 1 <= len(server.connections) <= 2


async def test_451_is_transient(server: SmtpServer, channel: EmailChannel) -> None:
    server.handler.data_reply = "451 4.3.0 Try again later"
    with pytest.raises(TransientDeliveryError, match="451") as caught:
        await channel.send(make_message())
    assert not caught.value.outcome_unknown
    assert caught.value.__cause__ is not None


async def test_550_is_permanent(server: SmtpServer, channel: EmailChannel) -> None:
    server.handler.data_reply = "550 5.7.1 Message rejected as spam"
    with pytest.raises(PermanentDeliveryError, match="550"):
        await channel.send(make_message())


async def test_a_refused_recipient_is_classified_by_its_code(
    server: SmtpServer, channel: EmailChannel
) -> None:
    server.handler.rcpt_replies = {
        "gone@example.com": "550 5.1.1 No such user",
        "full@example.com": "452 4.2.2 Mailbox full",
    }
    with pytest.raises(PermanentDeliveryError, match=r"gone@example\.com: 550"):
        await channel.send(make_message(1, "gone@example.com"))
    with pytest.raises(TransientDeliveryError, match=r"full@example\.com: 452"):
        await channel.send(make_message(2, "full@example.com"))
    await channel.send(make_message(3, "ada@example.com"))
    # The refusals reset the envelope: the same connection carried the good message.
    assert [env.rcpt_tos for env, _ in server.handler.received] == [["ada@example.com"]]
    assert len(server.connections) == 1


async def test_required_starttls_without_server_support_fails_and_sends_nothing(
    server: SmtpServer,
) -> None:
    email = EmailChannel(settings_for(server.port, starttls=True))
    with pytest.raises(PermanentDeliveryError, match="STARTTLS"):
        await email.send(make_message())
    await email.close()
    assert server.handler.mail_commands == 0
    assert server.handler.received == []


async def test_a_connection_closed_between_sends_is_replaced(
    server: SmtpServer, channel: EmailChannel
) -> None:
    await channel.send(make_message(1))
    server.drop_connections()
    await channel.send(make_message(2))
    assert len(server.handler.received) == 2
    assert len(server.connections) == 2


async def test_a_pooled_connection_the_server_closes_on_mail_is_retried_at_once(
    server: SmtpServer, channel: EmailChannel
) -> None:
    await channel.send(make_message(1))
    server.handler.mail_replies = ["421 4.4.2 mx.test idle too long, closing"]
    await channel.send(make_message(2))
    assert [email["Message-ID"] for _, email in server.handler.received] == [
        "<key-1@gc.example.com>",
        "<key-2@gc.example.com>",
    ]
    assert len(server.connections) == 2


async def test_an_idle_connection_is_checked_with_noop_before_reuse(
    server: SmtpServer,
) -> None:
    email = EmailChannel(settings_for(server.port), noop_after_idle=0)
    try:
        await email.send(make_message(1))
        await email.send(make_message(2))
        server.drop_connections()
        await email.send(make_message(3))
    finally:
        await email.close()
    assert server.handler.noops == 1  # the dropped connection never answered its NOOP
    assert len(server.handler.received) == 3
    assert len(server.connections) == 2


async def test_a_421_on_a_fresh_connection_is_transient_not_retried(
    server: SmtpServer, channel: EmailChannel
) -> None:
    server.handler.mail_replies = ["421 4.7.0 Too many connections"]
    with pytest.raises(TransientDeliveryError, match="421"):
        await channel.send(make_message())
    assert server.handler.mail_commands == 1


async def test_a_timeout_after_the_data_went_out_is_outcome_unknown(
    server: SmtpServer,
) -> None:
    server.handler.hang_on_data = True
    email = EmailChannel(settings_for(server.port, timeout="300ms"))
    with pytest.raises(TransientDeliveryError) as caught:
        await email.send(make_message())
    await email.close()
    assert caught.value.outcome_unknown


async def test_an_unreachable_server_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    email = EmailChannel(settings_for(closed_port))
    with pytest.raises(TransientDeliveryError) as caught:
        await email.send(make_message())
    assert not caught.value.outcome_unknown


async def test_an_invalid_address_is_permanent_and_never_connects(server: SmtpServer) -> None:
    email = EmailChannel(settings_for(server.port))
    with pytest.raises(PermanentDeliveryError, match="not an e-mail address"):
        await email.send(make_message(1, "not-an-address"))
    assert server.connections == []


@dataclass(frozen=True)
class Certificate:
    server: ssl.SSLContext
    client: ssl.SSLContext  # trusts only this self-signed certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    if shutil.which("openssl") is None:
        pytest.skip("the TLS tests make their certificate with the openssl command")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    command = [
        *("openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
        *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
        *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
    ]
    subprocess.run(command, check=True, capture_output=True)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return Certificate(server, ssl.create_default_context(cafile=str(cert)))


async def start(server: SmtpServer) -> SmtpServer:
    await server.start()
    return server


async def test_required_starttls_upgrades_and_keeps_the_connection(
    certificate: Certificate,
) -> None:
    server = await start(SmtpServer(starttls=certificate.server))
    email = EmailChannel(settings_for(server.port, starttls=True), tls_context=certificate.client)
    try:
        await email.send(make_message(1))
        await email.send(make_message(2))
    finally:
        await email.close()
        await server.stop()
    assert len(server.handler.received) == 2
    assert len(server.connections) == 1
    assert all(session.ssl for session in _sessions(server))


async def test_implicit_tls(certificate: Certificate) -> None:
    server = await start(SmtpServer(implicit=certificate.server))
    # starttls keeps its default (true): implicit TLS takes precedence over it.
    email = EmailChannel(
        settings_for(server.port, tls=True, starttls=True), tls_context=certificate.client
    )
    try:
        await email.send(make_message())
    finally:
        await email.close()
        await server.stop()
    assert len(server.handler.received) == 1


async def test_an_untrusted_certificate_is_permanent(certificate: Certificate) -> None:
    server = await start(SmtpServer(starttls=certificate.server))
    email = EmailChannel(settings_for(server.port, starttls=True))  # system trust store only
    try:
        with pytest.raises(PermanentDeliveryError, match="certificate"):
            await email.send(make_message())
    finally:
        await email.close()
        await server.stop()
    assert server.handler.mail_commands == 0


def _sessions(server: SmtpServer) -> list[Session]:
    return [connection.session for connection in server.connections if connection.session]


@pytest.mark.parametrize(
    ("values", "problem"),
    [({"host": None}, "host"), ({"from": "Ground Control"}, "channels.email.from")],
)
def test_settings_that_cannot_send_are_a_config_error(values: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        EmailChannel(settings_for(25, **values))


# --- SMTPUTF8: non-ASCII local parts -----------------------------------------------------

UTF8_ADDRESSES = ["用户@xn--fsqu00a.xn--4rr70v", "jörg@xn--bcher-kva.de"]  # 例子.广告, bücher.de


@pytest.fixture
async def utf8_server() -> AsyncIterator[SmtpServer]:
    smtp = SmtpServer(smtputf8=True)
    await smtp.start()
    yield smtp
    await smtp.stop()


@pytest.mark.parametrize("server_offers", [True, False])
async def test_open_learns_whether_the_server_offers_smtputf8(server_offers: bool) -> None:
    smtp = SmtpServer(smtputf8=server_offers)
    await smtp.start()
    email = EmailChannel(settings_for(smtp.port))
    try:
        assert not email.smtputf8.accepted
        await email.open()
        assert email.smtputf8.offered is server_offers
        assert email.smtputf8.accepted is server_offers
    finally:
        await email.close()
        await smtp.stop()


@pytest.mark.parametrize("address", UTF8_ADDRESSES)
async def test_a_non_ascii_local_part_is_sent_with_smtputf8(
    utf8_server: SmtpServer, address: str
) -> None:
    email = EmailChannel(settings_for(utf8_server.port))
    await email.open()
    try:
        await email.send(make_message(1, address))
    finally:
        await email.close()
    [(envelope, _)] = utf8_server.handler.received
    assert envelope.smtp_utf8
    assert envelope.rcpt_tos == [address]
    # RFC 6532 headers are raw UTF-8, which the stdlib's bytes parser does not decode.
    message = message_from_string(
        (envelope.original_content or b"").decode(), policy=policy.default
    )
    assert isinstance(message, EmailMessage)
    assert message["To"].addresses[0].addr_spec == address
    assert message["To"].addresses[0].display_name == "Ada Lovelace"


async def test_an_ascii_address_goes_without_smtputf8_even_where_offered(
    utf8_server: SmtpServer,
) -> None:
    email = EmailChannel(settings_for(utf8_server.port))
    try:
        await email.send(make_message(1, "ada@xn--bcher-kva.de"))
    finally:
        await email.close()
    [(envelope, _)] = utf8_server.handler.received
    assert not envelope.smtp_utf8
    assert envelope.rcpt_tos == ["ada@xn--bcher-kva.de"]


async def test_a_server_that_stopped_offering_smtputf8_fails_the_message_for_good(
    utf8_server: SmtpServer,
) -> None:
    email = EmailChannel(settings_for(utf8_server.port))
    await email.open()
    assert email.smtputf8.accepted
    utf8_server.smtputf8 = False  # reconfigured: the next connection's EHLO lacks it
    try:
        with pytest.raises(PermanentDeliveryError, match="does not offer it"):
            await email.send(make_message(1, UTF8_ADDRESSES[0]))
        assert not email.smtputf8.accepted  # ingest refuses such addresses from now on
        assert utf8_server.handler.mail_commands == 0
        await email.send(make_message(2))  # the connection is still good for ASCII mail
    finally:
        await email.close()
    assert len(utf8_server.handler.received) == 1


async def test_smtputf8_false_refuses_even_where_the_server_offers_it(
    utf8_server: SmtpServer,
) -> None:
    email = EmailChannel(settings_for(utf8_server.port, smtputf8=False))
    await email.open()
    assert not email.smtputf8.accepted
    try:
        with pytest.raises(PermanentDeliveryError, match="smtputf8 is false"):
            await email.send(make_message(1, UTF8_ADDRESSES[0]))
    finally:
        await email.close()
    assert utf8_server.connections == []  # no probe, no connection: refused before either


async def test_smtputf8_true_is_accepted_before_any_connection(server: SmtpServer) -> None:
    email = EmailChannel(settings_for(server.port, smtputf8=True))
    await email.open()
    assert server.connections == []  # no probe: the setting decides
    assert email.smtputf8.accepted
    try:
        with pytest.raises(PermanentDeliveryError, match="does not offer it"):
            await email.send(make_message(1, UTF8_ADDRESSES[1]))
    finally:
        await email.close()
