"""`notification.status` against a real back office on loopback: every state change of a
message is posted, signed as Standard Webhooks, once, in the order it happened, and an
outage retries each callback under its own unchanging webhook-id. On SQLite, and on
PostgreSQL when GC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.peers.chat_sink import ChatSink, Reply
from tests.peers.postgres import postgresql_param, schema_url
from tests.service.harness import Service, World, customer
from tests.service.test_callbacks_service import listening

from groundcontrol.settings import StoreSettings

STATUS = "notification.status"


@pytest.fixture(params=["sqlite", postgresql_param()])
async def engine(request: pytest.FixtureRequest, world: World) -> AsyncIterator[str]:
    """The harness's own SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(world.settings.store.url)
        return
    async with schema_url("gc_status") as url:
        yield url


@pytest.fixture
async def back_office(world: World, engine: str) -> AsyncIterator[ChatSink]:
    """crm opts in to notification.status (and nothing else)."""
    async with listening(world, STATUS) as sink:
        world.configure(
            journeys=_JOURNEYS,
            sources=world.settings.sources,
            store=StoreSettings(url=engine),
        )
        yield sink


_JOURNEYS = """
[[rules]]
status = "received"
template = "case_received"
"""


def bodies_by_id(sink: ChatSink) -> dict[str, list[dict[str, Any]]]:
    """Every body the back office received, grouped by webhook-id, oldest id first."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for request in sink.requests:
        grouped.setdefault(request.headers["webhook-id"], []).append(json.loads(request.body))
    return dict(sorted(grouped.items()))


async def a_delivered_sms(service: Service, world: World) -> str:
    accepted = await service.post("received", customer=customer(world.peers, "sms"))
    await service.drain()
    [message] = world.peers.twilio.messages
    status, _ = await world.peers.twilio.send_status(message, "delivered")
    assert status == 204
    await service.drain()
    [notification_id] = accepted["notification_ids"]
    return str(notification_id)


async def test_every_change_of_a_message_is_posted_signed_in_order(
    world: World, back_office: ChatSink
) -> None:
    async with world.serve() as service:
        notification_id = await a_delivered_sms(service, world)

    assert all(r.signature_valid for r in back_office.requests)
    grouped = bodies_by_id(back_office)
    assert all(len(posted) == 1 for posted in grouped.values()), "each posted once"
    told = [posted[0] for posted in grouped.values()]
    assert [(b["data"]["state"], b["data"]["previous_state"]) for b in told] == [
        ("pending", None),
        ("sending", "pending"),
        ("sent", "sending"),
        ("delivered", "sent"),
    ]
    assert {b["data"]["notification_id"] for b in told} == {notification_id}
    assert [b["id"] for b in told] == list(grouped), "the body's id is the webhook-id"
    assert {(b["type"], b["case_id"], b["customer_id"]) for b in told} == {
        (STATUS, "C-1001", "cust-42")
    }
    assert all(b["data"]["channel"] == "sms" for b in told)
    assert world.peers.twilio.messages[0].to not in json.dumps(told), "no phone number"


async def test_an_outage_retries_each_callback_under_one_webhook_id(
    world: World, back_office: ChatSink
) -> None:
    back_office.script(Reply(status=503), Reply(status=502), Reply(status=503))
    async with world.serve() as service:
        await a_delivered_sms(service, world)
        await service.advance(60)  # past the backoff (harness: 10 s, at most 1 min)
        await service.advance(60)

    grouped = bodies_by_id(back_office)
    assert len(grouped) == 4, "four changes, four webhook-ids"
    assert len(back_office.requests) == 4 + 3, "the three refused posts were retried"
    assert all(r.signature_valid for r in back_office.requests)
    for webhook_id, posted in grouped.items():
        assert all(body == posted[0] for body in posted), "a retry posts the same body"
        assert posted[0]["id"] == webhook_id
    states = [posted[0]["data"]["state"] for posted in grouped.values()]
    assert states == ["pending", "sending", "sent", "delivered"]
