"""RabbitMQ (AMQP 0-9-1) through `aio-pika`.

The queue and its dead letter queue are declared durable if missing; the broker
sends up to `prefetch` messages ahead (basic.qos). CloudEvents binary mode arrives as
`cloudEvents_` application properties (headers). A dead letter is the original body
and properties plus a `groundcontrol-problem` header, published with a confirm.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from groundcontrol.settings.subscriptions import AmqpSubscription
from groundcontrol.subscriptions.base import POLL_SECONDS, BrokerError, Message, MissingExtra

try:
    import aio_pika
    from aio_pika.abc import (
        AbstractChannel,
        AbstractConnection,
        AbstractIncomingMessage,
        AbstractQueue,
    )
    from aio_pika.connection import make_url
    from aio_pika.exceptions import AMQPError
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingExtra("amqp", "aio-pika") from exc

# The AMQP binding's prefix; `cloudEvents:` is its older spelling.
CE_PREFIXES = ("cloudEvents_", "cloudEvents:")
PROBLEM_HEADER = "groundcontrol-problem"


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except (AMQPError, ConnectionError) as exc:
        raise BrokerError(f"amqp: {exc!r}") from exc


class AmqpTransport:
    def __init__(self, settings: AmqpSubscription) -> None:
        self.settings = settings
        self.dead_queue = settings.dead_letter_queue()
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

    async def connect(self) -> None:
        # Not connect_robust: the supervisor reconnects every transport the same way.
        self._inbox = asyncio.Queue()
        async with _translated():
            self._connection = await _connected(self.settings.url.get_secret_value())
            self._channel = await self._connection.channel(publisher_confirms=True)
            await self._channel.set_qos(prefetch_count=self.settings.prefetch)
            self._queue = await self._channel.declare_queue(self.settings.queue, durable=True)
            await self._channel.declare_queue(self.dead_queue, durable=True)
            await self._queue.consume(self._inbox.put)

    @property
    def _open_channel(self) -> AbstractChannel:
        if self._channel is None or self._channel.is_closed:
            raise BrokerError("amqp: the connection is closed")
        return self._channel

    async def fetch(self, limit: int) -> Sequence[Message]:
        self._open_channel  # noqa: B018 - raises when the connection is gone
        try:
            first = await asyncio.wait_for(self._inbox.get(), POLL_SECONDS)
        except TimeoutError:
            return []
        batch = [first]
        while len(batch) < limit and not self._inbox.empty():
            batch.append(self._inbox.get_nowait())
        return [_message(incoming) for incoming in batch]

    async def ack(self, messages: Sequence[Message]) -> None:
        self._open_channel  # noqa: B018
        # One consumer per channel, batches in delivery order: acknowledging the last
        # delivery tag with `multiple` acknowledges exactly the messages in hand.
        async with _translated():
            await messages[-1].handle.ack(multiple=True)

    async def release(self, messages: Sequence[Message]) -> None:
        self._open_channel  # noqa: B018
        # Requeued in place, as closing the channel would, but at once.
        async with _translated():
            await messages[-1].handle.nack(multiple=True, requeue=True)

    async def dead_letter(self, message: Message, problem: Mapping[str, Any]) -> None:
        original: AbstractIncomingMessage = message.handle
        dead = aio_pika.Message(
            body=message.body,
            headers={**(original.headers or {}), PROBLEM_HEADER: json.dumps(problem)},
            content_type=original.content_type,
            message_id=original.message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        async with _translated():
            await self._open_channel.default_exchange.publish(dead, routing_key=self.dead_queue)

    async def lag(self) -> int | None:
        async with _translated():
            queue = await self._open_channel.declare_queue(self.settings.queue, passive=True)
        result = queue.declaration_result
        return int(result.message_count) if result.message_count is not None else None

    async def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(connection.close(), 5)


async def _connected(url: str) -> AbstractConnection:
    """`aio_pika.connect`, closing the connection when connecting fails. aio-pika drops
    it unclosed, and its `__del__` then makes a `close()` coroutine; when the collector
    runs in another thread (the writer's, the renderer's) there is no loop to run it,
    and it is left never awaited (a warning, and a failed test under pytest)."""
    connection = aio_pika.Connection(make_url(url))
    try:
        await connection.connect(timeout=5)
    except BaseException:
        await connection.close()
        raise
    return connection


def _message(incoming: AbstractIncomingMessage) -> Message:
    attributes: dict[str, str] = {}
    for key, value in (incoming.headers or {}).items():
        for prefix in CE_PREFIXES:
            if key.startswith(prefix):
                attributes[key[len(prefix) :]] = _text(value)
    return Message(
        body=incoming.body,
        content_type=incoming.content_type or "",
        attributes=attributes,
        handle=incoming,
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
