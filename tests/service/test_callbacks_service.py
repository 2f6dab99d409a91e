"""Callbacks to the back office, against a real HTTP receiver on loopback: a breached
promise is posted signed as Standard Webhooks, once, with one webhook-id through an
outage (retried at the delivery policy's times), dead when refused for good, and
re-driven from the dead letters."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr
from tests.peers.chat_sink import ChatSink, Reply
from tests.peers.twilio_peer import send_inbound
from tests.service.harness import (
    CHAT_SECRET,
    OTHER_SOURCE_TOKEN,
    PHONE,
    SOURCE_TOKEN,
    Service,
    World,
    customer,
)

from groundcontrol import keys
from groundcontrol.settings import DEFAULT_CALLBACK_EVENTS, SourceSettings
from groundcontrol.signatures import decode_secret

JOURNEYS = """
[defaults]
promise = "60s"

[[rules]]
status = "received"
template = "case_received"
"""
NOBODY: dict[str, Any] = {"id": "cust-dark", "name": "Nobody", "channels": []}
FOLLOWED_UP = """
[[rules]]
status = "received"
template = "case_received"
follow_up = { after = "10s", template = "still_working" }
"""


@asynccontextmanager
async def listening(
    world: World, *events: str, journeys: str = JOURNEYS
) -> AsyncIterator[ChatSink]:
    """A back office on loopback that checks signatures; crm asks for `events` (all the
    default ones when none are given), erp for nothing."""
    key = decode_secret(CHAT_SECRET)
    async with ChatSink(signing_key=key, now=lambda: world.clock()) as sink:
        crm = SourceSettings(
            token=SecretStr(SOURCE_TOKEN),
            callback_url=sink.url,
            callback_secret=SecretStr(CHAT_SECRET),
            callback_events=list(events or DEFAULT_CALLBACK_EVENTS),
        )
        world.configure(
            journeys=journeys,
            sources={"crm": crm, "erp": SourceSettings(token=SecretStr(OTHER_SOURCE_TOKEN))},
        )
        yield sink


@pytest.fixture
async def back_office(world: World) -> AsyncIterator[ChatSink]:
    """Asks for breaches only."""
    async with listening(world, "case.promise_breached") as sink:
        yield sink


@pytest.fixture
async def told_everything(world: World) -> AsyncIterator[ChatSink]:
    """Asks for the default callbacks: breaches, invalid contacts, unreachable customers."""
    async with listening(world) as sink:
        yield sink


async def breach(service: Service, case_id: str = "C-1001", token: str = SOURCE_TOKEN) -> None:
    await service.post("received", case_id=case_id, customer=NOBODY, token=token)
    await service.advance(60)


async def test_a_breached_promise_is_posted_signed_to_the_source(
    world: World, back_office: ChatSink
) -> None:
    async with world.serve() as service:
        await breach(service)
        [request] = back_office.requests
        assert request.signature_valid is True
        body = json.loads(request.body)
        assert body["type"] == "case.promise_breached"
        assert body["id"] == request.headers["webhook-id"]
        assert (body["case_id"], body["customer_id"], body["status"]) == (
            "C-1001",
            "cust-dark",
            "received",
        )
        assert body["data"]["promise_seconds"] == 60
        assert "callback_sent" in await service.kinds()
        await service.advance(600)
        assert len(back_office.requests) == 1, "once per breach"


async def test_only_the_source_of_the_case_hears_and_only_if_it_asked(
    world: World, back_office: ChatSink
) -> None:
    async with world.serve() as service:
        await breach(service, case_id="C-erp", token=OTHER_SOURCE_TOKEN)
        assert back_office.requests == []
        assert await service.entries("promise_breached", "C-erp")


async def test_an_outage_is_ridden_out_with_one_webhook_id(
    world: World, back_office: ChatSink
) -> None:
    back_office.script(Reply(status=503), Reply(status=502))
    async with world.serve() as service:
        await breach(service)
        assert len(back_office.requests) == 1
        await service.advance(60)  # past the backoff (harness: 10 s, at most 1 min)
        await service.advance(60)

        assert [r.signature_valid for r in back_office.requests] == [True, True, True]
        ids = {r.headers["webhook-id"] for r in back_office.requests}
        assert len(ids) == 1, "every attempt carries the same webhook-id"
        kinds = [k for k in await service.kinds() if k.startswith("callback")]
        assert kinds == ["callback_retry", "callback_retry", "callback_sent"]


async def test_a_refused_callback_is_dead_until_re_driven(
    world: World, back_office: ChatSink
) -> None:
    back_office.script(Reply(status=400))
    async with world.serve() as service:
        await breach(service)
        store = service.app[keys.STORE]
        [dead] = await store.list_callbacks("dead", 10)
        assert dead.last_error == "HTTP 400"

        assert await store.redrive_callback(dead.id, world.clock())
        await service.drain()
        assert len(back_office.requests) == 2
        assert back_office.requests[1].headers["webhook-id"] == dead.id
        assert await store.list_callbacks("dead", 10) == []
        [sent] = await store.list_callbacks("sent", 10)
        assert sent.id == dead.id


async def test_a_gone_address_tells_the_back_office_to_fix_it_and_that_nobody_is_left(
    world: World, told_everything: ChatSink
) -> None:
    back_office = told_everything
    world.peers.chat.script(Reply(status=410))  # the customer's chat webhook is gone
    chat_only = customer(world.peers, "chat")
    async with world.serve() as service:
        await service.post("received", customer=chat_only)
        await service.drain()

        bodies = [json.loads(r.body) for r in back_office.requests]
        assert [b["type"] for b in bodies] == ["contact.invalid", "customer.unreachable"]
        assert all(r.signature_valid for r in back_office.requests)
        invalid, unreachable = bodies
        assert invalid["data"]["channel"] == "chat"
        assert "410" in invalid["data"]["detail"]
        assert unreachable["data"]["tried_channels"] == ["chat"]
        assert len({r.headers["webhook-id"] for r in back_office.requests}) == 2


async def test_a_failure_with_a_channel_left_is_no_unreachable_callback(
    world: World, told_everything: ChatSink
) -> None:
    back_office = told_everything
    world.peers.chat.script(Reply(status=410))
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "chat", "sms"))
        await service.drain()
        assert [json.loads(r.body)["type"] for r in back_office.requests] == ["contact.invalid"]
        assert len(world.peers.twilio.messages) == 1, "the fallback reached the customer"


async def test_a_customer_with_no_usable_channel_is_reported_when_the_event_arrives(
    world: World, told_everything: ChatSink
) -> None:
    async with world.serve() as service:
        await service.post("received", customer=NOBODY)
        await service.drain()
        [request] = told_everything.requests
        body = json.loads(request.body)
        assert (body["type"], body["case_id"], body["customer_id"]) == (
            "customer.unreachable",
            "C-1001",
            "cust-dark",
        )
        await service.advance(60)
        types = [json.loads(r.body)["type"] for r in told_everything.requests]
        assert types == ["customer.unreachable", "case.promise_breached"]


def unreachable_bodies(sink: ChatSink) -> list[dict[str, Any]]:
    bodies = [json.loads(r.body) for r in sink.requests if r.signature_valid]
    return [b for b in bodies if b["type"] == "customer.unreachable"]


async def test_an_undelivered_report_with_no_channel_left_tells_the_back_office(
    world: World, told_everything: ChatSink
) -> None:
    async with world.serve() as service:
        accepted = await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        assert unreachable_bodies(told_everything) == []
        [message] = world.peers.twilio.messages

        status, _ = await world.peers.twilio.send_status(message, "undelivered", error_code="30003")
        assert status == 204
        await service.drain()

        [body] = unreachable_bodies(told_everything)
        assert (body["case_id"], body["customer_id"]) == ("C-1001", "cust-42")
        assert body["data"]["notification_id"] == accepted["notification_ids"][0]
        assert body["data"]["reason"] == "undelivered and no other channel left"


async def test_an_undelivered_report_with_a_channel_left_is_no_unreachable_callback(
    world: World, told_everything: ChatSink
) -> None:
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms", "email"))
        await service.drain()
        [message] = world.peers.twilio.messages
        await world.peers.twilio.send_status(message, "undelivered", error_code="30003")
        await service.drain()
        assert len(world.peers.smtp.received) == 1, "the fallback reached the customer"
        assert unreachable_bodies(told_everything) == []


async def test_a_follow_up_that_finds_no_usable_channel_tells_the_back_office(
    world: World,
) -> None:
    listened = listening(world, "customer.unreachable", journeys=FOLLOWED_UP)
    async with listened as back_office, world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        inbound = f"{world.settings.server.public_url}/v1/callbacks/twilio/inbound"
        status, _ = await send_inbound(inbound, PHONE, "STOP", world.peers.twilio.auth_token)
        assert status == 200
        assert unreachable_bodies(back_office) == []

        await service.advance(10)  # the follow-up is due: the customer opted out of all

        [body] = unreachable_bodies(back_office)
        assert (body["case_id"], body["status"]) == ("C-1001", "received")
        assert body["data"]["reason"] == "no usable channel"
        assert body["data"]["template"] == "still_working"
        assert len(world.peers.twilio.messages) == 1, "nothing sent after STOP"
