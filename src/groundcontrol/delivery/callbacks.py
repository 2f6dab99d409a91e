"""Posting callbacks to the source systems (DESIGN.md, "Telling the back office").

Standard-Webhooks-signed JSON, `webhook-id` = the callback's id on every attempt. The
same policies as customer messages decide what an answer means and when to try again:
`channels.chat.classify_response` reads the answer, `RetryPolicy` spaces the retries,
an `OutageGuard` per source stops hammering a back office that is down, and a callback
with no attempt left is dead until re-driven. A callback URL is the operator's own
configuration, not customer data: no SSRF guard applies.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import aiohttp

from groundcontrol.channels.chat import USER_AGENT, classify_response
from groundcontrol.delivery.retry import RetryPolicy
from groundcontrol.delivery.throttle import ChannelGuards, OutageGuard
from groundcontrol.errors import DeliveryError, TransientDeliveryError
from groundcontrol.settings import SourceSettings
from groundcontrol.signatures import decode_secret, signed_headers
from groundcontrol.store.callback_views import CallbackClaim, CallbackOutcome


class CallbackPoster:
    def __init__(
        self,
        sources: Mapping[str, SourceSettings],
        retry: RetryPolicy,
        *,
        clock: Callable[[], datetime],
        timeout: timedelta = timedelta(seconds=10),
        breaker: OutageGuard | None = None,
    ) -> None:
        self._targets = {
            name: (s.callback_url, decode_secret(s.callback_secret.get_secret_value()))
            for name, s in sources.items()
            if s.callback_url and s.callback_secret
        }
        self._retry = retry
        self._clock = clock
        self._timeout = timeout.total_seconds()
        self.guards = ChannelGuards(breaker or OutageGuard())
        self._session: aiohttp.ClientSession | None = None

    @property
    def any(self) -> bool:
        return bool(self._targets)

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(), headers={"User-Agent": USER_AGENT}
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(self, claimed: CallbackClaim) -> CallbackOutcome:
        """Post one callback; what became of it (never raises for the receiver's sake)."""
        now = self._clock()
        target = self._targets.get(claimed.source)
        if target is None:
            return CallbackOutcome(False, f"source {claimed.source!r} has no callback_url now")
        if not self.guards.allows(claimed.source, now):
            reopen = self.guards.reopen_at(claimed.source) or now
            return CallbackOutcome(False, "the source is failing: waiting for it", reopen)
        try:
            await self._post(*target, claimed, now)
        except DeliveryError as exc:
            return self._failed(claimed, exc)
        self.guards.record_success(claimed.source, self._clock())
        return CallbackOutcome(True, "accepted")

    def _failed(self, claimed: CallbackClaim, error: DeliveryError) -> CallbackOutcome:
        now = self._clock()
        if not isinstance(error, TransientDeliveryError):
            return CallbackOutcome(False, str(error))
        self.guards.record_failure(claimed.source, now)
        retry_at = self._retry.next_attempt(claimed.attempt, now, retry_after=error.retry_after)
        if retry_at is None:
            return CallbackOutcome(False, f"gave up after {claimed.attempt} attempts: {error}")
        return CallbackOutcome(False, str(error), retry_at)

    async def _post(self, url: str, key: bytes, claimed: CallbackClaim, now: datetime) -> None:
        if self._session is None:
            raise RuntimeError("CallbackPoster.open() was not called")
        body = json.dumps(dict(claimed.body), separators=(",", ":")).encode()
        headers = signed_headers(key, claimed.id, now, body) | {"Content-Type": "application/json"}
        try:
            async with asyncio.timeout(self._timeout):
                async with self._session.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as answer:
                    classify_response(answer.status, answer.headers, claimed.id, now)
        except TimeoutError as exc:
            raise TransientDeliveryError("no answer in time", outcome_unknown=True) from exc
        except aiohttp.ClientError as exc:
            raise TransientDeliveryError(f"could not post: {exc!r}") from exc
