"""The whole service, as `groundcontrol serve` builds it, with its real peers on loopback.

`running_service` builds the real app on a SQLite file, serves it on a real loopback
socket, and points the live channels at real peers: aiosmtpd for email, `TwilioPeer`
(driven through the real twilio SDK) for SMS, `ChatSink` for signed chat webhooks.
Time is a `FakeClock` the test moves; the dispatcher does not run on its own, so
`Service.drain()` decides what is sent, deterministically.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr
from tests.peers.chat_sink import ChatSink
from tests.peers.sqlite import migrated_sqlite_url
from tests.peers.twilio_peer import TwilioPeer

from groundcontrol import keys
from groundcontrol.app import create_app
from groundcontrol.settings import (
    AdminSettings,
    ChannelSettings,
    ChatSettings,
    DeliverySettings,
    EmailSettings,
    JourneySettings,
    LimitSettings,
    QuietHoursSettings,
    ServerSettings,
    Settings,
    SmsSettings,
    SourceSettings,
    StoreSettings,
    TemplateSettings,
)
from groundcontrol.signatures import decode_secret

REPO = Path(__file__).resolve().parents[2]
# 11:00 in Amsterdam: outside the default quiet hours (21:00-08:00).
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SOURCE_TOKEN = "crm-token"
OTHER_SOURCE_TOKEN = "erp-token"
ADMIN_TOKEN = "admin-token"
CHAT_SECRET = "whsec_" + base64.b64encode(b"chat-signing-key-0123456789").decode()
SMS_FROM = "+15005550006"
PHONE = "+31612345678"
EMAIL = "ada@example.com"
SENDER = "Ground Control <updates@gc.example.com>"

# Journeys with durations of seconds, so tests move the clock by seconds.
JOURNEYS = """
[[rules]]
status = "received"
template = "case_received"
priority = "normal"
follow_up = { after = "10s", template = "still_working", every = "5s", max = 3 }

[[rules]]
status = "in_progress"
template = "case_in_progress"
priority = "normal"
coalesce = "30s"

[[rules]]
status = "waiting_on_customer"
template = "waiting_on_customer"
priority = "high"
follow_up = { after = "20s", template = "waiting_reminder" }

[[rules]]
status = "resolved"
template = "case_resolved"
priority = "normal"
"""


class FakeClock:
    """The app's clock; tests move it instead of sleeping.

    `run_in_real_time()` lets it tick with the real loop (tests of the run loop and
    APScheduler wake-ups) while it still reads a pinned calendar time: the wall
    clock's hour, date and zone never reach a test, so it passes at any hour."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now
        self._ticking_since: float | None = None  # monotonic start of real-time ticking

    def __call__(self) -> datetime:
        if self._ticking_since is None:
            return self.now
        return self.now + timedelta(seconds=time.monotonic() - self._ticking_since)

    def run_in_real_time(self) -> None:
        self._ticking_since = time.monotonic()

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        self.now += delta if delta is not None else timedelta(**parts)
        return self.now


# --- the SMTP peer ------------------------------------------------------------------------


class SmtpPeer:
    """aiosmtpd on loopback (plaintext), recording what it accepts.

    `reply_next(code)` answers the next DATA commands with scripted replies instead;
    `smtputf8` is whether connections accepted from then on offer SMTPUTF8."""

    def __init__(self) -> None:
        self.smtputf8 = False
        self.received: list[EmailMessage] = []
        self.rcpt_tos: list[list[str]] = []
        self.port = 0
        self._replies: list[str] = []
        self._server: asyncio.Server | None = None
        self._connections: list[SMTP] = []

    def reply_next(self, *replies: str) -> None:
        self._replies.extend(replies)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._replies:
            return self._replies.pop(0)
        content = envelope.original_content or b""
        message = (
            # RFC 6532 headers are raw UTF-8, which the stdlib's bytes parser does not decode.
            message_from_string(content.decode(), policy=policy.default)
            if envelope.smtp_utf8
            else message_from_bytes(content, policy=policy.default)
        )
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        self.rcpt_tos.append(list(envelope.rcpt_tos))
        return "250 2.0.0 Ok: queued"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def _accept(self) -> SMTP:
        connection = SMTP(self, hostname="mx.test", enable_SMTPUTF8=self.smtputf8)
        self._connections.append(connection)
        return connection

    async def stop(self) -> None:
        for connection in self._connections:
            if connection.transport is not None:
                connection.transport.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@dataclass
class Peers:
    smtp: SmtpPeer
    twilio: TwilioPeer
    chat: ChatSink

    def chat_texts(self) -> list[str]:
        return [json.loads(r.body)["text"] for r in self.chat.requests]

    def sms_texts(self) -> list[str]:
        return [m.body for m in self.twilio.messages]

    def email_subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.smtp.received]

    def total(self) -> int:
        return len(self.smtp.received) + len(self.twilio.messages) + len(self.chat.requests)


@asynccontextmanager
async def real_peers(clock: FakeClock) -> AsyncIterator[Peers]:
    """aiosmtpd, the fake Twilio and a chat sink that checks signatures (at the service's
    time: a signature is only valid minutes around its timestamp), on loopback."""
    smtp = SmtpPeer()
    await smtp.start()
    chat = ChatSink(signing_key=decode_secret(CHAT_SECRET), now=lambda: clock())
    try:
        async with TwilioPeer() as twilio, chat:
            yield Peers(smtp, twilio, chat)
    finally:
        await smtp.stop()


# --- settings -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_settings(
    tmp_path: Path,
    peers: Peers,
    *,
    port: int,
    journeys: str = JOURNEYS,
    allow_private_networks: bool = True,
    **sections: Any,
) -> Settings:
    """Settings for one service test: its own SQLite file, seconds-long journeys and
    every channel live against `peers`. `sections` replace whole settings sections."""
    journeys_file = tmp_path / "journeys.toml"
    journeys_file.write_text(textwrap.dedent(journeys), encoding="utf-8")
    values: dict[str, Any] = {
        "server": ServerSettings(public_url=f"http://127.0.0.1:{port}", shutdown_grace="2s"),
        "templates": TemplateSettings(dir=REPO / "templates"),
        "journeys": JourneySettings(file=journeys_file),
        "admin": AdminSettings(token=SecretStr(ADMIN_TOKEN)),
        "sources": {
            "crm": SourceSettings(token=SecretStr(SOURCE_TOKEN)),
            "erp": SourceSettings(token=SecretStr(OTHER_SOURCE_TOKEN)),
        },
        "channels": channel_settings(peers, allow_private_networks=allow_private_networks),
        "delivery": DeliverySettings(
            outbox_dir=tmp_path / "outbox",
            max_attempts=3,
            backoff_initial="10s",
            backoff_max="1m",
            send_timeout="5s",
        ),
        "quiet_hours": QuietHoursSettings(),
        "limits": LimitSettings(),
    }
    values.update(sections)
    if "store" not in values:
        values["store"] = StoreSettings(url=migrated_sqlite_url(tmp_path / "groundcontrol.db"))
    return Settings(**values)


def channel_settings(peers: Peers, *, allow_private_networks: bool = True) -> ChannelSettings:
    email = EmailSettings.model_validate(
        {"host": "127.0.0.1", "port": peers.smtp.port, "starttls": False, "from": SENDER}
    )
    sms = SmsSettings.model_validate(
        {
            "account_sid": peers.twilio.account_sid,
            "auth_token": peers.twilio.auth_token,
            "from": SMS_FROM,
            "api_base_url": peers.twilio.base_url,
        }
    )
    chat = ChatSettings(
        signing_secret=SecretStr(CHAT_SECRET), allow_private_networks=allow_private_networks
    )
    return ChannelSettings(email=email, sms=sms, chat=chat)


# --- events -----------------------------------------------------------------------------------


def customer(peers: Peers, *channels: str, **changes: Any) -> dict[str, Any]:
    """An inline customer reachable on every channel, preferring `channels` in order."""
    body: dict[str, Any] = {
        "id": "cust-42",
        "name": "Ada Lovelace",
        "email": EMAIL,
        "phone": PHONE,
        "chat_webhook": peers.chat.url,
        "locale": "en",
        "timezone": "Europe/Amsterdam",
        "channels": list(channels or ("sms", "email", "chat")),
    }
    return body | changes


# --- the running service -------------------------------------------------------------------


@dataclass
class Service:
    client: TestClient[web.Request, web.Application]
    app: web.Application
    clock: FakeClock
    peers: Peers
    _events: int = field(default=0)

    async def drain(self) -> None:
        """Fire due follow-ups and send everything due now; wait for every send."""
        await self.app[keys.DISPATCHER].drain()

    async def advance(self, seconds: float) -> None:
        """Move the clock, then send what became due."""
        self.clock.advance(seconds=seconds)
        await self.drain()

    async def post(
        self,
        status: str,
        *,
        case_id: str = "C-1001",
        customer: dict[str, Any] | None = None,
        occurred_at: datetime | None = None,
        token: str = SOURCE_TOKEN,
        **fields: Any,
    ) -> dict[str, Any]:
        """Post one event (a fresh id, occurring now unless told) and expect a 202."""
        self._events += 1
        body: dict[str, Any] = {
            "id": f"evt-{self._events:04d}",
            "case_id": case_id,
            "status": status,
            "occurred_at": (occurred_at or self.clock()).isoformat(),
            "customer": customer or {"id": "cust-42"},
            "data": {"case_title": "Address change"},
        }
        body |= fields
        response = await self.client.post(
            "/v1/events", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status == 202, await response.text()
        return await _json(response)

    async def admin(self, method: str, path: str, **kwargs: Any) -> ClientResponse:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def put_customer(self, body: dict[str, Any]) -> None:
        response = await self.admin("PUT", f"/v1/customers/{body['id']}", json=body)
        assert response.status in (200, 201), await response.text()

    async def get_customer(self, customer_id: str = "cust-42") -> dict[str, Any]:
        response = await self.admin("GET", f"/v1/customers/{customer_id}")
        assert response.status == 200, await response.text()
        return await _json(response)

    async def timeline(self, case_id: str = "C-1001") -> list[dict[str, Any]]:
        response = await self.admin("GET", f"/v1/cases/{case_id}/timeline")
        assert response.status == 200, await response.text()
        entries: list[dict[str, Any]] = (await response.json())["entries"]
        return entries

    async def kinds(self, case_id: str = "C-1001") -> list[str]:
        return [entry["kind"] for entry in await self.timeline(case_id)]

    async def entries(self, kind: str, case_id: str = "C-1001") -> list[dict[str, Any]]:
        return [e for e in await self.timeline(case_id) if e["kind"] == kind]

    async def notifications(self, case_id: str = "C-1001") -> list[dict[str, Any]]:
        response = await self.admin("GET", "/v1/notifications", params={"case_id": case_id})
        assert response.status == 200, await response.text()
        found: list[dict[str, Any]] = (await response.json())["notifications"]
        return sorted(found, key=lambda n: (n["created_at"], n["id"]))

    async def sent(self, case_id: str = "C-1001") -> list[tuple[str, str]]:
        """(template, channel) of each message the providers accepted, oldest first."""
        done = {"sent", "delivered"}
        found = [n for n in await self.notifications(case_id) if n["state"] in done]
        return [(n["template"], n["channel"]) for n in found]

    async def notification(self, notification_id: str) -> dict[str, Any]:
        response = await self.admin("GET", f"/v1/notifications/{notification_id}")
        assert response.status == 200, await response.text()
        return await _json(response)


async def _json(response: ClientResponse) -> dict[str, Any]:
    body: dict[str, Any] = await response.json()
    return body


@asynccontextmanager
async def running_service(
    settings: Settings, clock: FakeClock, peers: Peers, *, run_dispatcher: bool = False
) -> AsyncIterator[Service]:
    """Serve the real app on the port `settings.server.public_url` names."""
    app = create_app(settings, clock=clock, run_dispatcher=run_dispatcher)
    port = int(settings.server.public_url.rsplit(":", 1)[1])
    async with TestClient(TestServer(app, host="127.0.0.1", port=port)) as client:
        yield Service(client, app, clock, peers)


@dataclass
class World:
    """Peers, clock and settings for one test; `serve()` may be entered more than once
    (a restart: a new app on the same SQLite file)."""

    tmp_path: Path
    peers: Peers
    clock: FakeClock
    port: int
    settings: Settings

    def configure(self, **changes: Any) -> Settings:
        self.settings = service_settings(self.tmp_path, self.peers, port=self.port, **changes)
        return self.settings

    def serve(self, *, run_dispatcher: bool = False) -> Any:
        return running_service(self.settings, self.clock, self.peers, run_dispatcher=run_dispatcher)


@asynccontextmanager
async def make_world(tmp_path: Path, **changes: Any) -> AsyncIterator[World]:
    clock = FakeClock()
    async with real_peers(clock) as peers:
        port = free_port()
        settings = service_settings(tmp_path, peers, port=port, **changes)
        yield World(tmp_path, peers, clock, port, settings)
