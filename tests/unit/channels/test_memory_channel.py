"""MemoryChannel: records what it accepts, fails and hangs exactly as scripted."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from groundcontrol.channels.base import OutgoingMessage
from groundcontrol.channels.memory import MemoryChannel
from groundcontrol.domain import Customer, RenderedMessage
from groundcontrol.errors import PermanentDeliveryError, TransientDeliveryError

MESSAGE = OutgoingMessage(
    notification_id="n-1",
    message_key="msg-1",
    case_id="C-1",
    status="received",
    customer=Customer(id="cust-1", email="ada@example.com"),
    channel="email",
    address="ada@example.com",
    rendered=RenderedMessage(text="Received", subject="Your case"),
    thread_key="t-1",
)


def numbered(n: int) -> OutgoingMessage:
    return replace(MESSAGE, notification_id=f"n-{n}")


async def test_accepted_messages_are_recorded_with_distinct_receipts() -> None:
    channel = MemoryChannel("email")
    first = await channel.send(numbered(1))
    second = await channel.send(numbered(2))
    assert [m.notification_id for m in channel.sent] == ["n-1", "n-2"]
    assert first.provider_id != second.provider_id


async def test_open_and_close_are_tracked() -> None:
    channel = MemoryChannel("sms")
    await channel.open()
    assert channel.is_open
    await channel.close()
    assert not channel.is_open


async def test_scripted_failures_come_in_order_then_sends_succeed() -> None:
    channel = MemoryChannel("email")
    channel.fail_next(TransientDeliveryError("503"), times=2)
    channel.fail_next(PermanentDeliveryError("550"))
    for expected in (TransientDeliveryError, TransientDeliveryError, PermanentDeliveryError):
        with pytest.raises(expected):
            await channel.send(MESSAGE)
    await channel.send(MESSAGE)
    assert len(channel.calls) == 4
    assert channel.sent == [MESSAGE]


async def test_a_hanging_send_goes_through_on_resume() -> None:
    channel = MemoryChannel("chat")
    channel.hang_next()
    sending = asyncio.create_task(channel.send(MESSAGE))
    await channel.wait_hanging(1)
    assert channel.sent == []
    channel.resume()
    receipt = await sending
    assert receipt.provider_id is not None
    assert channel.sent == [MESSAGE]


async def test_resume_releases_only_the_sends_hanging_then() -> None:
    channel = MemoryChannel("chat")
    channel.hang_next()
    first = asyncio.create_task(channel.send(numbered(1)))
    await channel.wait_hanging(1)
    channel.resume()
    await first
    channel.hang_next()
    second = asyncio.create_task(channel.send(numbered(2)))
    await channel.wait_hanging(1)
    assert [m.notification_id for m in channel.sent] == ["n-1"]
    channel.resume()
    await second
    assert [m.notification_id for m in channel.sent] == ["n-1", "n-2"]


async def test_a_cancelled_hanging_send_records_nothing() -> None:
    channel = MemoryChannel("chat")
    channel.hang_next()
    sending = asyncio.create_task(channel.send(MESSAGE))
    await channel.wait_hanging(1)
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    assert channel.sent == []
    assert channel.calls == [MESSAGE]
    await channel.send(MESSAGE)  # the script is used up: the next send just works
    assert channel.sent == [MESSAGE]
