"""NATS JetStream through a durable pull consumer (`nats-py`).

CloudEvents binary mode arrives as `ce-` headers. The stream is created if missing,
with the dead letter subject, so dead letters are stored too. An unacknowledged
message comes again after `ack_wait`, a released one (NAK) at once. nats-py's own
reconnect is off: the supervisor reconnects every transport the same way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from groundcontrol.settings.subscriptions import NatsSubscription
from groundcontrol.subscriptions.base import POLL_SECONDS, BrokerError, Message, MissingExtra

try:
    import nats
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.errors import Error as NatsError
    from nats.js import JetStreamContext
    from nats.js.api import ConsumerConfig
    from nats.js.errors import NotFoundError
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingExtra("nats", "nats-py") from exc

CE_PREFIX = "ce-"
PROBLEM_HEADER = "Groundcontrol-Problem"


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except NatsError as exc:
        raise BrokerError(f"nats: {exc!r}") from exc


class JetStreamTransport:
    def __init__(self, settings: NatsSubscription) -> None:
        self.settings = settings
        self.dead_subject = settings.dead_letter_subject()
        self._client: Client | None = None
        self._subscription: JetStreamContext.PullSubscription | None = None

    async def connect(self) -> None:
        async with _translated():
            self._client = await nats.connect(
                self.settings.url.get_secret_value(),
                allow_reconnect=False,
                connect_timeout=5,
                error_cb=_ignore,  # errors reach us as exceptions from the calls below
            )
            js = self._client.jetstream()
            await self._ensure_stream(js)
            self._subscription = await js.pull_subscribe(
                self.settings.subject,
                durable=self.settings.durable,
                stream=self.settings.stream,
                config=ConsumerConfig(
                    ack_wait=self.settings.duration("ack_wait").total_seconds(),
                ),
            )

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        subjects = [self.settings.subject, self.dead_subject]
        try:
            info = await js.stream_info(self.settings.stream)
        except NotFoundError:
            await js.add_stream(name=self.settings.stream, subjects=subjects)
            return
        try:
            await js.find_stream_name_by_subject(self.dead_subject)
        except NotFoundError:
            # Dead letters must be stored somewhere: in the consumed stream, then.
            config = info.config
            config.subjects = [*(config.subjects or []), self.dead_subject]
            await js.update_stream(config)

    @property
    def _pull(self) -> JetStreamContext.PullSubscription:
        if self._subscription is None or self._client is None or self._client.is_closed:
            raise BrokerError("nats: not connected")
        return self._subscription

    async def fetch(self, limit: int) -> Sequence[Message]:
        pull = self._pull
        async with _translated():
            try:
                received = await pull.fetch(batch=limit, timeout=POLL_SECONDS)
            except TimeoutError:  # nats-py raises its own or asyncio's, by the path taken
                return []
        return [_message(msg) for msg in received]

    async def ack(self, messages: Sequence[Message]) -> None:
        self._pull  # noqa: B018 - raises when the connection is gone
        async with _translated():
            for message in messages:
                await message.handle.ack()
            assert self._client is not None
            await self._client.flush()  # the acks reached the server: fewer redeliveries

    async def release(self, messages: Sequence[Message]) -> None:
        self._pull  # noqa: B018
        # Without a NAK the server holds them for `ack_wait` (30 s by default) first.
        async with _translated():
            for message in messages:
                await message.handle.nak()
            assert self._client is not None
            await self._client.flush()

    async def dead_letter(self, message: Message, problem: Mapping[str, Any]) -> None:
        msg: Msg = message.handle
        headers = dict(msg.headers or {}) | {PROBLEM_HEADER: json.dumps(problem)}
        self._pull  # noqa: B018
        assert self._client is not None
        async with _translated():
            await self._client.jetstream().publish(self.dead_subject, message.body, headers=headers)

    async def lag(self) -> int | None:
        async with _translated():
            info = await self._pull.consumer_info()
        return info.num_pending

    async def close(self) -> None:
        client, self._client, self._subscription = self._client, None, None
        if client is not None and not client.is_closed:
            await client.close()


def _message(msg: Msg) -> Message:
    headers = msg.headers or {}
    attributes = {
        key[len(CE_PREFIX) :].lower(): value
        for key, value in headers.items()
        if key.lower().startswith(CE_PREFIX)
    }
    content_type = headers.get("Content-Type") or headers.get("content-type") or ""
    return Message(body=msg.data, content_type=content_type, attributes=attributes, handle=msg)


async def _ignore(exc: Exception) -> None:
    pass
