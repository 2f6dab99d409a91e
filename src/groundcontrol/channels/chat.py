"""The chat channel: a signed JSON POST to the customer's webhook URL.

The body is stable; integrators code against it::

    {
      "type": "case.update",          # always this string for now
      "text": "Your address change was received.",   # the rendered chat template
      "case_id": "C-1001",
      "status": "received",
      "customer_id": "cust-42",
      "notification_id": "n-...",
      "test": false                   # true for test sends from the admin UI
    }

It is signed as Standard Webhooks: `webhook-id` is the notification's message key
(the same on every retry, so receivers can de-duplicate), `webhook-timestamp` is
fresh per attempt, and `webhook-signature` is `v1,<base64 HMAC-SHA256>` over
`"<id>.<timestamp>.<body>"` with `channels.chat.signing_secret`.

How the receiver's answer is read: 2xx delivered; 3xx refused (redirects are not
followed); 410 Gone forgets the customer's webhook; 429 and 503 are retried after
their `Retry-After`; 408 and other 5xx are retried; any other 4xx fails for good and
the next channel takes over. Targets on internal networks are refused before any
byte is sent (see channels/netguard.py) unless `allow_private_networks = true`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yarl import URL

from groundcontrol import __version__
from groundcontrol.channels.base import OutgoingMessage, Receipt
from groundcontrol.channels.netguard import ForbiddenAddress, GuardedConnector
from groundcontrol.domain import ChannelName, utcnow
from groundcontrol.durations import parse_duration
from groundcontrol.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from groundcontrol.settings import ChatSettings
from groundcontrol.signatures import decode_secret, signed_headers

EVENT_TYPE = "case.update"
USER_AGENT = f"GroundControl/{__version__}"
_BACKOFF_STATUSES = frozenset({429, 503})


def build_payload(message: OutgoingMessage) -> dict[str, Any]:
    """The JSON body posted to the customer's chat webhook (also what the outbox writes)."""
    return {
        "type": EVENT_TYPE,
        "text": message.rendered.text,
        "case_id": message.case_id,
        "status": message.status,
        "customer_id": message.customer.id,
        "notification_id": message.notification_id,
        "test": message.test,
    }


def encode_payload(message: OutgoingMessage) -> bytes:
    """The exact bytes that are posted and signed: compact UTF-8 JSON."""
    return json.dumps(build_payload(message), ensure_ascii=False, separators=(",", ":")).encode()


def classify_response(
    status: int, headers: Mapping[str, str], message_key: str, now: datetime
) -> Receipt:
    """Turn the receiver's answer into a Receipt, or raise the matching DeliveryError."""
    reason = f"HTTP {status}"
    if 200 <= status < 300:
        return Receipt(provider_id=message_key, detail=reason)
    if 300 <= status < 400:
        location = headers.get("Location", "")[:200]
        raise PermanentDeliveryError(f"{reason}: redirects are not followed (to {location!r})")
    if status == 410:
        raise PermanentDeliveryError(f"{reason}: the webhook is gone", disable_address=True)
    if status in _BACKOFF_STATUSES:
        retry_after = parse_retry_after(headers.get("Retry-After"), now)
        raise TransientDeliveryError(reason, retry_after=retry_after)
    if status == 408:
        raise TransientDeliveryError(reason)
    if status >= 500:
        # The receiver may have processed the message before failing.
        raise TransientDeliveryError(reason, outcome_unknown=True)
    raise PermanentDeliveryError(reason)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """`Retry-After` as delay-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an obsolete date form without a zone; HTTP dates are GMT
        return None
    return max(when - now, timedelta(0))


class ChatChannel:
    """Posts signed JSON to customers' chat webhooks (Standard Webhooks signatures)."""

    name: ChannelName = "chat"

    def __init__(self, settings: ChatSettings, *, now: Callable[[], datetime] = utcnow) -> None:
        if settings.signing_secret is None:
            raise ConfigError("channels.chat.signing_secret is required to post chat webhooks")
        self._key = decode_secret(settings.signing_secret.get_secret_value())
        self._timeout = parse_duration(settings.timeout).total_seconds()
        self._allow_private_networks = settings.allow_private_networks
        self._now = now
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the shared HTTP session; call inside the running loop."""
        connector = aiohttp.TCPConnector() if self._allow_private_networks else GuardedConnector()
        # Our own asyncio.timeout bounds every attempt, so aiohttp's timeouts are off.
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(), headers={"User-Agent": USER_AGENT}
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, message: OutgoingMessage) -> Receipt:
        url = _webhook_url(message.address)
        body = encode_payload(message)
        headers = signed_headers(self._key, message.message_key, self._now(), body)
        headers["Content-Type"] = "application/json"
        try:
            async with asyncio.timeout(self._timeout):
                status, response_headers = await self._post(url, body, headers)
        except TimeoutError as exc:
            raise TransientDeliveryError(
                f"no answer within {self._timeout:g}s", outcome_unknown=True
            ) from exc
        return classify_response(status, response_headers, message.message_key, self._now())

    async def _post(
        self, url: URL, body: bytes, headers: dict[str, str]
    ) -> tuple[int, Mapping[str, str]]:
        if self._session is None:
            raise RuntimeError("ChatChannel.open() was not called")
        try:
            async with self._session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                return response.status, response.headers
        except ForbiddenAddress as exc:
            raise PermanentDeliveryError(str(exc)) from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransientDeliveryError(f"could not connect: {exc}") from exc
        except aiohttp.InvalidURL as exc:
            raise PermanentDeliveryError(f"invalid webhook URL: {exc}") from exc
        except aiohttp.ClientError as exc:
            # The request may have reached the receiver before the exchange broke.
            raise TransientDeliveryError(
                f"HTTP exchange failed: {exc!r}", outcome_unknown=True
            ) from exc


def _webhook_url(address: str) -> URL:
    try:
        url = URL(address)
    except (TypeError, ValueError) as exc:
        raise PermanentDeliveryError(f"invalid webhook URL {address!r}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise PermanentDeliveryError(f"webhook URL must be http(s) with a host: {address!r}")
    return url
