"""The three brokers on loopback, driven by their own client libraries, as a publisher
(a workflow system) and an operator reading the dead letter would use them.

Each peer owns uniquely named queues, streams and subjects (other tests and helpers
share the brokers) and deletes them on exit:

    async with peer_for("redis") as broker:
        subscription = broker.subscription("erp-redis", source="crm")   # a config entry
        await broker.publish(b'{"id": ...}')
        letters = await broker.dead_letters()
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import aio_pika
import nats
from aio_pika.abc import FieldValue
from nats.js.api import StreamConfig
from redis import asyncio as redis

AMQP_PORT, NATS_PORT, REDIS_PORT = 5672, 4222, 6379
TRANSPORTS = ("amqp", "nats", "redis")


@dataclass(frozen=True)
class DeadLetter:
    body: bytes
    problem: dict[str, Any]


class BrokerPeer(Protocol):
    transport: str
    port: int

    async def __aenter__(self) -> BrokerPeer: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def subscription(self, name: str, *, source: str, port: int | None = None) -> dict[str, Any]:
        """The `[[subscriptions]]` entry consuming what this peer publishes; `port` puts
        a proxy between the service and the broker."""
        ...

    async def publish(
        self, body: bytes, *, content_type: str = "", attributes: Mapping[str, str] | None = None
    ) -> None:
        """Publish one message; `attributes` are CloudEvents binary-mode attributes,
        sent as the transport binding says."""
        ...

    async def dead_letters(self) -> list[DeadLetter]: ...


def peer_for(transport: str) -> BrokerPeer:
    peers: dict[str, type[BrokerPeer]] = {
        "amqp": AmqpPeer,
        "nats": NatsPeer,
        "redis": RedisPeer,
    }
    return peers[transport]()


def _unique() -> str:
    return "gc-test-" + uuid.uuid4().hex[:12]


class AmqpPeer:
    transport = "amqp"
    port = AMQP_PORT

    def __init__(self) -> None:
        self.queue = _unique()
        self.dead = self.queue + ".dead"

    async def __aenter__(self) -> AmqpPeer:
        self.connection = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{AMQP_PORT}/")
        self.channel = await self.connection.channel(publisher_confirms=True)
        await self.channel.declare_queue(self.queue, durable=True)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for name in (self.queue, self.dead):
            await self.channel.queue_delete(name)
        await self.connection.close()

    def subscription(self, name: str, *, source: str, port: int | None = None) -> dict[str, Any]:
        url = f"amqp://guest:guest@127.0.0.1:{port or AMQP_PORT}/"
        return {"name": name, "source": source, "url": url, "queue": self.queue}

    async def publish(
        self, body: bytes, *, content_type: str = "", attributes: Mapping[str, str] | None = None
    ) -> None:
        headers: dict[str, FieldValue] = {
            f"cloudEvents_{key}": value for key, value in (attributes or {}).items()
        }
        message = aio_pika.Message(body, headers=headers or None, content_type=content_type or None)
        await self.channel.default_exchange.publish(message, routing_key=self.queue)

    async def dead_letters(self) -> list[DeadLetter]:
        queue = await self.channel.declare_queue(self.dead, durable=True)
        letters = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            problem = json.loads(str((message.headers or {})["groundcontrol-problem"]))
            letters.append(DeadLetter(message.body, problem))
        return letters


class NatsPeer:
    transport = "nats"
    port = NATS_PORT

    def __init__(self) -> None:
        token = _unique().replace("-", "_")
        self.stream = token.upper()
        self.subject = f"{token}.status.>"
        self.publish_subject = f"{token}.status.changed"
        self.dead = f"{token}.dead"

    async def __aenter__(self) -> NatsPeer:
        self.client = await nats.connect(f"nats://127.0.0.1:{NATS_PORT}")
        self.js = self.client.jetstream()
        # As an operator would: the stream exists, without a dead letter subject.
        await self.js.add_stream(StreamConfig(name=self.stream, subjects=[self.subject]))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.js.delete_stream(self.stream)
        await self.client.close()

    def subscription(self, name: str, *, source: str, port: int | None = None) -> dict[str, Any]:
        return {
            "name": name,
            "source": source,
            "url": f"nats://127.0.0.1:{port or NATS_PORT}",
            "stream": self.stream,
            "subject": self.subject,
            "durable": "groundcontrol",
            "ack_wait": "3s",
        }

    async def publish(
        self, body: bytes, *, content_type: str = "", attributes: Mapping[str, str] | None = None
    ) -> None:
        headers = {f"ce-{key}": value for key, value in (attributes or {}).items()}
        if content_type:
            headers["Content-Type"] = content_type
        await self.js.publish(self.publish_subject, body, headers=headers or None)

    async def dead_letters(self) -> list[DeadLetter]:
        reader = await self.js.pull_subscribe(self.dead, stream=self.stream)
        letters = []
        try:
            while True:
                batch = await reader.fetch(100, timeout=0.5)
                for msg in batch:
                    problem = json.loads((msg.headers or {})["Groundcontrol-Problem"])
                    letters.append(DeadLetter(msg.data, problem))
                    await msg.ack()
        except TimeoutError:  # nats-py raises its own or asyncio's: nothing left
            pass
        finally:
            await reader.unsubscribe()
        return letters


class RedisPeer:
    transport = "redis"
    port = REDIS_PORT

    def __init__(self) -> None:
        self.stream = _unique()
        self.dead = self.stream + ".dead"

    async def __aenter__(self) -> RedisPeer:
        self.client = redis.Redis(host="127.0.0.1", port=REDIS_PORT)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.client.delete(self.stream, self.dead)
        await self.client.aclose()

    def subscription(self, name: str, *, source: str, port: int | None = None) -> dict[str, Any]:
        return {
            "name": name,
            "source": source,
            "url": f"redis://127.0.0.1:{port or REDIS_PORT}/0",
            "stream": self.stream,
            "group": "groundcontrol",
            "consumer": "test",
        }

    async def publish(
        self, body: bytes, *, content_type: str = "", attributes: Mapping[str, str] | None = None
    ) -> None:
        # A Redis stream has no headers: binary mode and content types do not exist here.
        assert not attributes and not content_type, "Redis entries carry only `data`"
        await self.client.xadd(self.stream, {"data": body})

    async def dead_letters(self) -> list[DeadLetter]:
        entries: Any = await self.client.xrange(self.dead)
        return [
            DeadLetter(fields[b"data"], json.loads(fields[b"problem"])) for _, fields in entries
        ]
