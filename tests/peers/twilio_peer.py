"""A fake Twilio on 127.0.0.1: the Messages REST shape, scriptable failures, signed callbacks.

Tests and benchmarks drive the real twilio SDK against it:

    async with TwilioPeer() as peer:
        settings = SmsSettings(account_sid=peer.account_sid, auth_token=peer.auth_token,
                               from_="+15005550006", api_base_url=peer.base_url)
        peer.fail_next(status=400, code=21211)         # the next POST is refused
        ...
        await peer.send_status(peer.messages[0], "delivered")   # signed status callback
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any

from aiohttp import ClientSession, web
from tests.peers.local_server import Started, listen_locally
from twilio.request_validator import RequestValidator

from groundcontrol.channels.segments import count_segments
from groundcontrol.domain import utcnow

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "peer-auth-token"
MESSAGES_PATH = "/2010-04-01/Accounts/{sid}/Messages.json"


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the peer accepted."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    form: Mapping[str, str]


@dataclass(frozen=True)
class Failure:
    """How the peer answers one scripted request instead of accepting it."""

    status: int = 400
    code: int | None = None
    message: str = "scripted failure"
    retry_after: str | None = None
    problem: bool = False  # RFC 9457 body (TwilioServiceException) instead of legacy JSON
    hang: bool = False  # never answer (until the peer closes)
    raw_body: str | None = None  # a non-JSON body, as a proxy in front of Twilio might send


@dataclass
class TwilioPeer(Started):
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    requests: int = 0  # every POST to the Messages resource, accepted or not
    messages: list[ReceivedMessage] = field(default_factory=list)
    _failures: deque[Failure] = field(default_factory=deque)
    _sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _port: int = 0

    @property
    def base_url(self) -> str:
        """What `channels.sms.api_base_url` points at."""
        return f"http://127.0.0.1:{self._port}"

    def fail_next(self, times: int = 1, **failure: Any) -> None:
        """Answer the next `times` requests with `Failure(**failure)`."""
        self._failures.extend([Failure(**failure)] * times)

    def hang_next(self, times: int = 1) -> None:
        """Accept the next `times` requests and never answer them."""
        self.fail_next(times, hang=True)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(MESSAGES_PATH.format(sid="{sid}"), self._create_message)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        self._port = await listen_locally(self._runner)

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def send_status(
        self, message: ReceivedMessage, status: str, *, error_code: str | None = None
    ) -> tuple[int, str]:
        """Post a signed status callback for `message` to its StatusCallback URL."""
        if message.status_callback is None:
            raise ValueError(f"{message.sid} was sent without a StatusCallback")
        form = {
            "AccountSid": self.account_sid,
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message.to,
            "From": message.from_,
            "ApiVersion": "2010-04-01",
        }
        if error_code is not None:
            form["ErrorCode"] = error_code
        return await post_signed(message.status_callback, form, self.auth_token)

    async def _create_message(self, request: web.Request) -> web.Response:
        self.requests += 1
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if self._failures:
            return await self._fail(self._failures.popleft())
        message = self._accept(form)
        return web.json_response(self._resource(message), status=201)

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        sid_matches = request.match_info["sid"] == self.account_sid
        return sid_matches and request.headers.get("Authorization") == f"Basic {expected}"

    async def _fail(self, failure: Failure) -> web.Response:
        if failure.hang:
            await self._closing.wait()
        headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
        if failure.raw_body is not None:
            return web.Response(status=failure.status, text=failure.raw_body, headers=headers)
        code = failure.code if failure.code is not None else failure.status
        if failure.problem:
            return _problem(failure.status, code, failure.message, headers)
        return _error(failure.status, code, failure.message, headers)

    def _accept(self, form: dict[str, str]) -> ReceivedMessage:
        message = ReceivedMessage(
            sid=f"SM{next(self._sids):032x}",
            to=form.get("To", ""),
            from_=form.get("From", ""),
            body=form.get("Body", ""),
            status_callback=form.get("StatusCallback"),
            form=form,
        )
        self.messages.append(message)
        return message

    def _resource(self, message: ReceivedMessage) -> dict[str, Any]:
        now = format_datetime(utcnow(), usegmt=True)
        uri = MESSAGES_PATH.format(sid=self.account_sid).removesuffix(".json")
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": message.body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(count_segments(message.body).segments),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/{message.sid}/Media.json"},
            "to": message.to,
            "uri": f"{uri}/{message.sid}.json",
        }


def _error(
    status: int, code: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status, headers=headers)


def _problem(
    status: int, code: int, message: str, headers: Mapping[str, str] | None
) -> web.Response:
    body = {
        "type": f"https://www.twilio.com/docs/errors/{code}",
        "title": message,
        "status": status,
        "code": code,
        "detail": message,
    }
    return web.json_response(
        body, status=status, headers=headers, content_type="application/problem+json"
    )


def sign(url: str, form: Mapping[str, str], auth_token: str) -> str:
    """The X-Twilio-Signature Twilio would send for `form` posted to `url`."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(form)))


async def post_signed(
    url: str,
    form: Mapping[str, str],
    auth_token: str,
    *,
    signed_url: str | None = None,
    signature: str | None = None,
) -> tuple[int, str]:
    """POST a form to `url` as Twilio would; returns (status, body text).

    `signed_url` is the URL the signature covers (the public URL when the service
    sits behind a proxy); `signature` overrides the computed one (None: compute,
    "": send no header)."""
    if signature is None:
        signature = sign(signed_url or url, form, auth_token)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    async with (
        ClientSession() as session,
        session.post(url, data=dict(form), headers=headers) as reply,
    ):
        return reply.status, await reply.text()


async def send_inbound(
    url: str,
    sender: str,
    body: str,
    auth_token: str,
    *,
    to: str = "+15005550006",
    signed_url: str | None = None,
) -> tuple[int, str]:
    """Post a signed inbound SMS, as Twilio does to a number's messaging webhook."""
    form = {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": "SM" + "f" * 32,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }
    return await post_signed(url, form, auth_token, signed_url=signed_url)
