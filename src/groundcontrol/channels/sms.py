"""SMS through the official twilio SDK's async client, with every failure classified.

Measured in twilio 9.13 (the pitfalls this adapter works around):
- `AsyncTwilioHttpClient(max_retries=n)` wraps the session in aiohttp-retry, which
  re-POSTs on 5xx: the same SMS twice. It stays unset.
- The async client ignores its `timeout`, so each call is bounded by `asyncio.timeout`.
- `Client(environment={})` still reads `os.environ` (`environment or os.environ`): a
  `TWILIO_EDGE` / `TWILIO_REGION` there would rewrite our host. A non-empty mapping
  without TWILIO_* keys keeps the settings file the only source.
- RFC 9457 error bodies raise `TwilioServiceException`, not `TwilioRestException`;
  both derive from `TwilioException`, which is what is caught.
- Neither exception carries the reply headers, so `Retry-After` is read off the
  response by an aiohttp trace hook into a per-send context variable.
- Both exceptions colour `str()` when stderr is a TTY: messages are built from fields.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from groundcontrol.channels.base import OutgoingMessage, Receipt
from groundcontrol.channels.segments import count_segments
from groundcontrol.domain import ChannelName, as_utc, utcnow
from groundcontrol.durations import parse_duration
from groundcontrol.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from groundcontrol.settings import SmsSettings

log = logging.getLogger(__name__)

INVALID_NUMBER_CODES = frozenset({21211, 21614})  # invalid, or not a mobile (landline)
PERMANENT_CODES = {
    21211: "invalid 'To' phone number",
    21614: "'To' number is not a mobile number",
    21635: "'To' number cannot receive this message",
    21608: "unverified 'To' number (trial account)",
}
OPTED_OUT_CODE = 21610  # the recipient replied STOP to our sender
RATE_LIMITED_CODE = 20429

_ISOLATED_ENVIRONMENT = {"GROUNDCONTROL": "settings only"}


@dataclass
class _Reply:
    retry_after: str | None = None


_reply: ContextVar[_Reply | None] = ContextVar("twilio_reply", default=None)


async def _remember_reply(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
) -> None:
    reply = _reply.get()
    if reply is not None:
        reply.retry_after = params.response.headers.get("Retry-After")


def _reply_tracer() -> aiohttp.TraceConfig:
    tracer = aiohttp.TraceConfig()
    tracer.on_request_end.append(_remember_reply)
    return tracer


class SmsChannel:
    """Sends SMS through Twilio (or any endpoint speaking its Messages REST API)."""

    name: ChannelName = "sms"

    def __init__(
        self,
        settings: SmsSettings,
        status_callback_url: str,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if not (settings.account_sid and settings.auth_token and settings.from_):
            raise ConfigError("channels.sms needs account_sid, auth_token and from")
        self._account_sid = settings.account_sid
        self._auth_token = settings.auth_token
        self._from = settings.from_
        self._api_base_url = settings.api_base_url
        self._status_callback_url = status_callback_url
        self._timeout = _timeout_seconds(settings.timeout)
        self._clock = clock
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    async def open(self) -> None:
        """Create the HTTP session; it must be made inside the running loop."""
        self._http = AsyncTwilioHttpClient(trace_configs=[_reply_tracer()])
        client = Client(
            username=self._account_sid,
            password=self._auth_token.get_secret_value(),
            http_client=self._http,
            environment=_ISOLATED_ENVIRONMENT,
        )
        if self._api_base_url:
            client.api.base_url = self._api_base_url.rstrip("/")
        self._client = client

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._http = self._client = None

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Hand one SMS to Twilio; raise a classified DeliveryError if it is refused."""
        body = message.rendered.text
        if not body:
            raise PermanentDeliveryError("empty SMS body: nothing to send")
        segments = count_segments(body).segments
        created = await self._create(message, body)
        return Receipt(provider_id=created.sid, segments=segments, detail=str(created.status))

    async def _create(self, message: OutgoingMessage, body: str) -> Any:
        if self._client is None:
            raise RuntimeError("SmsChannel.send before open()")
        reply = _Reply()
        token = _reply.set(reply)
        try:
            async with asyncio.timeout(self._timeout):
                return await self._client.messages.create_async(
                    to=message.address,
                    from_=self._from,
                    body=body,
                    status_callback=self._status_callback_url,
                )
        except TwilioException as exc:
            raise self._refused(exc, reply, message) from exc
        except TimeoutError as exc:
            raise _possible_duplicate(f"no reply within {self._timeout:g}s", message) from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransientDeliveryError(f"cannot connect to Twilio: {exc.os_error}") from exc
        except (aiohttp.ClientError, json.JSONDecodeError) as exc:
            raise _possible_duplicate(f"broken reply: {type(exc).__name__}", message) from exc
        finally:
            _reply.reset(token)

    def _refused(
        self, exc: TwilioException, reply: _Reply, message: OutgoingMessage
    ) -> DeliveryError:
        status: int | None = getattr(exc, "status", None)
        code: int | None = getattr(exc, "code", None)
        text = f"Twilio {code} (HTTP {status}): {_describe(exc)}"
        if code == OPTED_OUT_CODE:
            return PermanentDeliveryError(f"recipient opted out: {text}", opt_out=True)
        if code in PERMANENT_CODES:
            return PermanentDeliveryError(
                f"{PERMANENT_CODES[code]}: {text}", invalid_address=code in INVALID_NUMBER_CODES
            )
        if code == RATE_LIMITED_CODE or status == 429:
            return TransientDeliveryError(
                f"rate limited: {text}", retry_after=self._retry_after(reply.retry_after)
            )
        if status is None or status >= 500:
            return _possible_duplicate(text, message)
        return PermanentDeliveryError(text)

    def _retry_after(self, header: str | None) -> timedelta | None:
        """Retry-After is either delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
        if not header:
            return None
        if header.strip().isdigit():
            return timedelta(seconds=int(header))
        try:
            at = as_utc(parsedate_to_datetime(header))
        except (TypeError, ValueError):
            return None
        return max(at - self._clock(), timedelta(0))


def _timeout_seconds(text: str) -> float:
    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise ConfigError(f"channels.sms.timeout: {exc}") from exc


def _describe(exc: TwilioException) -> str:
    for field in ("msg", "detail", "title"):
        value = getattr(exc, field, None)
        if value:
            return str(value)
    return type(exc).__name__


def _possible_duplicate(reason: str, message: OutgoingMessage) -> TransientDeliveryError:
    # Twilio may have accepted the message before failing: a retry can send it twice.
    # The reason is not logged here: Twilio's text may quote the number. The activity
    # line for this failure carries it, scrubbed.
    log.warning("possible duplicate SMS for notification %s", message.notification_id)
    return TransientDeliveryError(f"outcome unknown: {reason}", outcome_unknown=True)
