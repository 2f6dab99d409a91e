"""The e-mail channel: SMTP through aiosmtplib, over a small pool of reused connections.

Every failure becomes a `TransientDeliveryError` or a `PermanentDeliveryError` with the
aiosmtplib exception as `__cause__`. SMTP reply codes decide: 4xx is transient, 5xx
permanent, per recipient. A connection lost or timed out after the message data
started may have delivered it, so that error says `outcome_unknown`.

Retries across time are the dispatcher's. The one retry here is immediate: a pooled
connection the server dropped while idle is replaced and the send tried once more,
which is safe because nothing was transmitted on the dead one.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

import aiosmtplib
from aiosmtplib import (
    SMTPException,
    SMTPHeloError,
    SMTPRecipientsRefused,
    SMTPResponse,
    SMTPResponseException,
)
from aiosmtplib.typing import Default
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_none

from groundcontrol.channels.base import OutgoingMessage, Receipt
from groundcontrol.channels.mime import build_email, message_id, sender_address, sender_domain
from groundcontrol.channels.smtputf8 import Smtputf8, needs_smtputf8
from groundcontrol.domain import ChannelName
from groundcontrol.durations import parse_duration
from groundcontrol.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from groundcontrol.settings import EmailSettings

# An idle connection older than this is checked with NOOP before use: servers close
# idle sessions (Postfix after 300 s), and a NOOP is cheaper than a failed send.
NOOP_AFTER_IDLE = 30.0
_CLOSING = 421  # "service not available, closing transmission channel"
_QUEUE_ID = re.compile(r"(?:queued as|\bid=)\s*([A-Za-z0-9._-]+)", re.IGNORECASE)
SMTPUTF8 = "SMTPUTF8"

log = logging.getLogger(__name__)


class EmailChannel:
    """A `Channel` that sends notifications by SMTP."""

    name: ChannelName = "email"

    def __init__(
        self,
        settings: EmailSettings,
        *,
        tls_context: ssl.SSLContext | None = None,
        noop_after_idle: float = NOOP_AFTER_IDLE,
        smtputf8: Smtputf8 | None = None,
    ) -> None:
        """`tls_context` replaces the system trust store (a private relay's CA);
        `noop_after_idle` is how many seconds a pooled connection may idle before
        it is checked with NOOP; `smtputf8` is told what every EHLO says (ingest
        reads it), by default a new one for `settings.smtputf8`."""
        if not settings.host:
            raise ConfigError("channels.email.host is required to send e-mail over SMTP")
        self._settings = settings
        self._tls_context = tls_context
        self._timeout = parse_duration(settings.timeout).total_seconds()
        try:
            self._envelope_from = sender_address(settings.from_)
            self._domain = sender_domain(settings.from_)
        except ValueError as exc:
            raise ConfigError(f"channels.email.from: {exc}") from exc
        self._noop_after_idle = noop_after_idle
        self.smtputf8 = smtputf8 or Smtputf8(settings.smtputf8)
        self._pool = _Pool(self._connect, settings.pool_size)

    async def open(self) -> None:
        """With `smtputf8 = "auto"`, connect once to learn what the relay offers, then
        QUIT (sends open their own connections on first use). A relay that is down at
        start-up delays e-mail instead of stopping the service."""
        if self.smtputf8.setting != "auto":
            return
        try:
            await _quit(await self._connect(), self._timeout)
        except DeliveryError as exc:
            log.warning(
                "the SMTP server did not answer at start-up (%s): addresses with a "
                "non-ASCII local part are refused at ingest until it does",
                exc,
            )

    async def close(self) -> None:
        """Say QUIT on idle connections; connections in use close when released."""
        await self._pool.close(self._timeout)

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Transmit one notification; raise a classified DeliveryError on failure."""
        content = self._content(message)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_StaleConnection),
            stop=stop_after_attempt(2),
            wait=wait_none(),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    reply = await self._transmit(message.address, content)
        except _StaleConnection as exc:
            raise _classify(exc.original, data_started=False) from exc.original
        return Receipt(
            provider_id=_queue_id(reply) or message_id(message.message_key, self._domain),
            detail=reply,
        )

    def _content(self, message: OutgoingMessage) -> bytes:
        try:
            email = build_email(message, sender=self._settings.from_, domain=self._domain)
        except ValueError as exc:
            raise PermanentDeliveryError(f"cannot build the e-mail: {exc}") from exc
        return email.as_bytes()

    async def _transmit(self, address: str, content: bytes) -> str:
        utf8 = needs_smtputf8(address)
        if utf8 and self.smtputf8.setting is False:
            raise PermanentDeliveryError(
                f"{address!r} has a non-ASCII local part, which needs SMTPUTF8, and "
                "channels.email.smtputf8 is false"
            )
        async with self._pool.lease() as lease:
            try:
                async with asyncio.timeout(self._timeout):
                    await self._ensure_alive(lease)
                    if utf8:
                        _require_smtputf8(lease.client, address)
                    refused, reply = await lease.client.sendmail(
                        self._envelope_from,
                        [address],
                        content,
                        mail_options=[SMTPUTF8] if utf8 else None,
                    )
            except (SMTPException, OSError, TimeoutError) as exc:
                # After a reply aiosmtplib resets the envelope (RSET): the connection
                # stays usable. Anything else leaves it in an unknown state.
                lease.broken = not isinstance(exc, SMTPResponseException | SMTPRecipientsRefused)
                if lease.reused and _is_stale(exc, lease.client.data_started):
                    raise _StaleConnection(exc) from exc
                raise _classify(exc, data_started=lease.client.data_started) from exc
        if refused:
            # Only reachable with several recipients (one refused, others accepted);
            # each notification has one, so this guards the contract, not a case.
            raise refusal_error(refused)
        return reply

    async def _ensure_alive(self, lease: _Lease) -> None:
        if lease.reused and lease.idle_for() >= self._noop_after_idle:
            await lease.client.noop()

    async def _connect(self) -> _Client:
        settings = self._settings
        password = settings.password.get_secret_value() if settings.password else None
        client = _Client(
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=password,
            use_tls=settings.tls,
            # STARTTLS is required, never opportunistic: `start_tls=None` would quietly
            # send in plaintext to a server that does not offer it. Implicit TLS wins
            # when both are set, as `starttls` defaults to true.
            start_tls=settings.starttls and not settings.tls,
            tls_context=self._tls_context,
            timeout=self._timeout,
        )
        try:
            async with asyncio.timeout(self._timeout):
                await client.connect()
                await _greet(client)
        except (SMTPException, OSError, TimeoutError) as exc:
            client.close()
            raise _classify(exc, data_started=False) from exc
        self.smtputf8.learn(client.supports_extension(SMTPUTF8))
        return client


def _require_smtputf8(client: _Client, address: str) -> None:
    # Permanent on purpose: a relay that stopped offering SMTPUTF8 is a configuration
    # matter that a retry every few minutes will not fix; failing now moves the
    # customer to the next channel and puts the reason on the timeline.
    if not client.supports_extension(SMTPUTF8):
        raise PermanentDeliveryError(
            f"{address!r} has a non-ASCII local part, which needs SMTPUTF8, and the "
            "SMTP server does not offer it (any more)"
        )


async def _greet(client: _Client) -> None:
    """EHLO now, unless STARTTLS or AUTH already did, so the extensions are known
    before the first send; HELO for a server without ESMTP, as aiosmtplib would."""
    if not client.is_ehlo_or_helo_needed:
        return
    try:
        await client.ehlo()
    except SMTPHeloError:
        await client.helo()


class _Client(aiosmtplib.SMTP):
    """An SMTP client that remembers whether message data started to go out."""

    data_started = False

    async def data(
        self,
        message: str | bytes,
        /,
        *,
        timeout: float | Literal[Default.token] | None = Default.token,  # noqa: ASYNC109 (aiosmtplib's signature)
    ) -> SMTPResponse:
        self.data_started = True
        return await super().data(message, timeout=timeout)


class _StaleConnection(Exception):
    """A reused connection failed before any data: try once more on a new one."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


@dataclass
class _Lease:
    client: _Client
    reused: bool
    idle_since: float
    broken: bool = field(default=False)

    def idle_for(self) -> float:
        return asyncio.get_running_loop().time() - self.idle_since


class _Pool:
    """Up to `size` connected clients; idle ones wait in a queue for the next send."""

    def __init__(self, connect: Callable[[], Awaitable[_Client]], size: int) -> None:
        self._connect = connect
        self._slots = asyncio.Semaphore(size)
        self._idle: asyncio.Queue[tuple[_Client, float]] = asyncio.Queue()
        self._closed = False

    @asynccontextmanager
    async def lease(self) -> AsyncIterator[_Lease]:
        """A connected client for one send; returned to the pool unless it broke."""
        async with self._slots:
            lease = self._take_idle() or _Lease(await self._connect(), False, _now())
            lease.client.data_started = False
            try:
                yield lease
            except (DeliveryError, _StaleConnection):
                raise  # the sender already judged the connection
            except BaseException:
                lease.broken = True
                raise
            finally:
                self._give_back(lease)

    async def close(self, seconds: float) -> None:
        self._closed = True
        while not self._idle.empty():
            client, _ = self._idle.get_nowait()
            await _quit(client, seconds)

    def _take_idle(self) -> _Lease | None:
        while not self._idle.empty():
            client, since = self._idle.get_nowait()
            if client.is_connected:
                return _Lease(client, True, since)
        return None

    def _give_back(self, lease: _Lease) -> None:
        if lease.broken or self._closed or not lease.client.is_connected:
            lease.client.close()
        else:
            self._idle.put_nowait((lease.client, _now()))


async def _quit(client: _Client, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await client.quit()
    except (SMTPException, OSError, TimeoutError):
        client.close()


def _now() -> float:
    return asyncio.get_running_loop().time()


def _is_stale(exc: BaseException, data_started: bool) -> bool:
    if data_started:
        return False
    if isinstance(exc, SMTPResponseException):
        return exc.code == _CLOSING
    return isinstance(exc, ConnectionError)


def _classify(exc: BaseException, *, data_started: bool) -> DeliveryError:
    if isinstance(exc, SMTPRecipientsRefused):
        return refusal_error({e.recipient: SMTPResponse(e.code, e.message) for e in exc.recipients})
    if isinstance(exc, SMTPResponseException):
        return _by_code(exc.code, exc.message)
    if _certificate_rejected(exc):
        return PermanentDeliveryError(f"SMTP server certificate rejected: {exc}")
    if isinstance(exc, OSError | TimeoutError):
        # The data may have reached the server before the connection died: a retry
        # can duplicate the e-mail (receivers can de-duplicate on the Message-ID).
        return TransientDeliveryError(
            f"SMTP connection failed: {str(exc) or type(exc).__name__}",
            outcome_unknown=data_started,
        )
    # What is left is the server lacking something the configuration requires
    # (STARTTLS, AUTH). Permanent on purpose: retrying on a schedule cannot fix a
    # configuration, would hammer the relay for every queued e-mail, and would hold
    # each customer's update back for hours; failing now hands the notification to
    # the customer's next channel and puts the reason on the timeline.
    return PermanentDeliveryError(f"SMTP server unsuitable for the configuration: {exc}")


def _certificate_rejected(exc: BaseException) -> bool:
    # aiosmtplib wraps the ssl error of an implicit-TLS connect in SMTPConnectError.
    return isinstance(exc, ssl.SSLCertVerificationError) or isinstance(
        exc.__cause__, ssl.SSLCertVerificationError
    )


def refusal_error(refused: Mapping[str, SMTPResponse]) -> DeliveryError:
    """One error for refused recipients (aiosmtplib's dict of address -> reply):
    permanent only if every refusal is, since a 4xx one may still be accepted later."""
    detail = "; ".join(f"{rcpt}: {reply.code} {reply.message}" for rcpt, reply in refused.items())
    if all(_is_permanent(reply.code) for reply in refused.values()):
        # A hard bounce: the address itself is refused.
        return PermanentDeliveryError(f"recipient refused: {detail}", invalid_address=True)
    return TransientDeliveryError(f"recipient deferred: {detail}")


def _by_code(code: int, text: str) -> DeliveryError:
    if _is_permanent(code):
        return PermanentDeliveryError(f"SMTP {code} {text}")
    return TransientDeliveryError(f"SMTP {code} {text}")


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


def _queue_id(reply: str) -> str | None:
    match = _QUEUE_ID.search(reply)
    return match.group(1) if match else None
