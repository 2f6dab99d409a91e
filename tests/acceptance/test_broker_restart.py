"""RabbitMQ restarted under a live subscription: nothing is lost, nothing is doubled.

Unlike the dropped-connection test (a proxy cut: the broker itself keeps its state),
this stops and starts the real broker's application (`rabbitmqctl stop_app` /
`start_app`): the consumer's connection dies, deliveries it had not yet acknowledged go
back to the durable queue, and persistent messages published before the restart are
still there after it. The service reconnects by itself; every event is stored once and
planned once (a redelivery of a committed event is a duplicate, never a second
message).

RabbitMQ only: the Redis here keeps nothing on disk (a restart empties it by design),
and NATS is not ours to restart. The broker is shared, so the test always starts it
again, even when it fails.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import aio_pika
import pytest
from tests.integration.api_harness import serve, settings_for
from tests.integration.test_subscriptions import (
    NAME,
    assert_exactly_once,
    case_event,
    consumed,
    dump,
    stored_events,
    until,
)
from tests.peers.brokers import AMQP_PORT

from groundcontrol import keys

pytestmark = pytest.mark.skipif(
    shutil.which("rabbitmqctl") is None, reason="needs RabbitMQ's rabbitmqctl on this machine"
)

URL = f"amqp://guest:guest@127.0.0.1:{AMQP_PORT}/"
# Events published before the restart (enough that it lands mid-stream), and after it.
BEFORE, AFTER = 3000, 100


async def rabbitmqctl(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, error = await process.communicate()
    assert process.returncode == 0, f"rabbitmqctl {' '.join(args)}: {error.decode()}"


async def publish(queue: str, numbers: Iterable[int]) -> None:
    """Persistent messages, confirmed by the broker: they survive its restart."""
    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(queue, durable=True)
        for number in numbers:
            message = aio_pika.Message(
                dump(case_event(number)), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            )
            await channel.default_exchange.publish(message, routing_key=queue)


@pytest.fixture
async def queue() -> AsyncIterator[str]:
    name = f"gc-restart-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        await rabbitmqctl("start_app")  # a no-op when it runs; the broker is shared
        await rabbitmqctl("await_startup")
        connection = await aio_pika.connect(URL)
        async with connection:
            channel = await connection.channel()
            for leftover in (name, f"{name}.dead"):
                await channel.queue_delete(leftover)


@pytest.mark.timeout(150)
async def test_a_rabbitmq_restart_mid_stream_loses_nothing(tmp_path: Path, queue: str) -> None:
    await publish(queue, range(BEFORE))
    subscription = {
        "name": NAME,
        "source": "crm",
        "url": URL,
        "queue": queue,
        "reconnect_initial": "100ms",
        "reconnect_max": "500ms",
        "prefetch": 50,
    }
    async with serve(settings_for(tmp_path, subscriptions=[subscription])) as api:
        await until(lambda: consumed(api) >= 20, "consuming before the restart")

        def state() -> str:
            return str(api.app[keys.SUBSCRIPTIONS].status()[NAME]["state"])

        await rabbitmqctl("stop_app")
        await until(lambda: state() == "reconnecting", "the restart noticed")
        assert len(stored_events(tmp_path)) < BEFORE, "consumed everything before the stop"
        await rabbitmqctl("start_app")
        await rabbitmqctl("await_startup")
        await publish(queue, range(BEFORE, BEFORE + AFTER))
        await until(lambda: state() == "consuming", "reconnected after the restart", 40)
        await until(
            lambda: len(stored_events(tmp_path)) == BEFORE + AFTER, "every event stored", 90
        )

    assert_exactly_once(tmp_path, BEFORE + AFTER)
