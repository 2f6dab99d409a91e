"""Each channel end to end through the running service, against its real peer: what
arrives is parsed there; each failure class leads to the right retry, fallback or stop,
and the case timeline tells the story."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from tests.peers.twilio_peer import send_inbound
from tests.service.harness import (
    EMAIL,
    PHONE,
    SMS_FROM,
    SOURCE_TOKEN,
    Service,
    World,
    customer,
)


async def advance_to(service: Service, iso: str) -> None:
    await service.advance((datetime.fromisoformat(iso) - service.clock()).total_seconds())


def kinds_of(timeline: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in timeline if e["kind"] not in {"event", "follow_up_scheduled"}]


# --- delivered, and parsed at the peer ---------------------------------------------------


async def test_email_arrives_as_a_threaded_multipart_message_with_one_click_unsubscribe(
    world: World,
) -> None:
    async with world.serve() as service:
        accepted = await service.post("resolved", customer=customer(world.peers, "email"))
        await service.drain()

        [message] = world.peers.smtp.received
        assert world.peers.smtp.rcpt_tos == [[EMAIL]]
        assert message["To"].addresses[0].addr_spec == EMAIL
        assert "Address change" in str(message["Subject"])
        assert message.get_body(("plain",)) is not None
        assert message.get_body(("html",)) is not None
        notification = await service.notification(accepted["notification_ids"][0])
        assert notification["message_key"] in message["Message-ID"]
        assert message["In-Reply-To"]
        assert message["List-Unsubscribe"].startswith(f"<{world.settings.server.public_url}/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert notification["state"] == "sent"
        assert kinds_of(await service.timeline()) == ["planned", "sent"]


async def test_sms_arrives_through_the_twilio_sdk_with_a_status_callback(world: World) -> None:
    async with world.serve() as service:
        accepted = await service.post("resolved", customer=customer(world.peers, "sms"))
        await service.drain()

        [message] = world.peers.twilio.messages
        assert (message.to, message.from_) == (PHONE, SMS_FROM)
        assert "Address change" in message.body
        public = world.settings.server.public_url
        assert message.status_callback == f"{public}/v1/callbacks/twilio/status"
        notification = await service.notification(accepted["notification_ids"][0])
        assert notification["provider_id"] == message.sid
        assert notification["segments"] >= 1


async def test_chat_arrives_signed_with_the_case_in_the_body(world: World) -> None:
    async with world.serve() as service:
        accepted = await service.post("resolved", customer=customer(world.peers, "chat"))
        await service.drain()

        [request] = world.peers.chat.requests
        assert request.signature_valid is True
        body = json.loads(request.body)
        assert (body["case_id"], body["status"], body["customer_id"]) == (
            "C-1001",
            "resolved",
            "cust-42",
        )
        assert "Address change" in body["text"]
        notification = await service.notification(accepted["notification_ids"][0])
        assert request.headers["webhook-id"] == notification["message_key"]


# --- failure classes ---------------------------------------------------------------------


async def test_smtp_451_is_retried_later_with_the_same_message_id(world: World) -> None:
    world.peers.smtp.reply_next("451 4.3.0 Mailbox busy, try later")
    async with world.serve() as service:
        await service.post("resolved", customer=customer(world.peers, "email", "sms"))
        await service.drain()
        assert world.peers.smtp.received == []
        [retry] = await service.entries("retry_scheduled")
        assert "451" in retry["detail"]["detail"]

        await advance_to(service, retry["detail"]["next_attempt_at"])

        assert len(world.peers.smtp.received) == 1
        assert world.peers.twilio.messages == []
        assert kinds_of(await service.timeline()) == ["planned", "retry_scheduled", "sent"]


async def test_smtp_550_falls_back_to_the_next_channel(world: World) -> None:
    world.peers.smtp.reply_next("550 5.1.1 No such user")
    async with world.serve() as service:
        await service.post("resolved", customer=customer(world.peers, "email", "sms"))
        await service.drain()

        assert len(world.peers.twilio.messages) == 1
        assert await service.sent() == [("case_resolved", "sms")]
        [fallback] = await service.entries("fallback")
        assert (fallback["detail"]["from"], fallback["detail"]["to"]) == ("email", "sms")
        [failed] = await service.entries("failed")
        assert "550" in failed["detail"]["detail"]


async def test_twilio_21211_falls_back_to_email(world: World) -> None:
    world.peers.twilio.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")
    async with world.serve() as service:
        await service.post("resolved", customer=customer(world.peers, "sms", "email"))
        await service.drain()

        assert world.peers.twilio.messages == []
        assert len(world.peers.smtp.received) == 1
        assert await service.sent() == [("case_resolved", "email")]
        assert "sms" not in (await service.get_customer())["opted_out"]


async def test_twilio_21610_opts_the_customer_out_of_sms_and_falls_back(world: World) -> None:
    world.peers.twilio.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed")
    async with world.serve() as service:
        await service.post("resolved", customer=customer(world.peers, "sms", "email"))
        await service.drain()

        assert len(world.peers.smtp.received) == 1
        assert (await service.get_customer())["opted_out"] == ["sms"]
        [opted_out] = await service.entries("opted_out")
        assert opted_out["detail"]["channel"] == "sms"
        # The next case goes straight to e-mail: SMS is not even tried.
        await service.post("resolved", case_id="C-2")
        await service.drain()
        assert world.peers.twilio.requests == 1
        assert len(world.peers.smtp.received) == 2


async def test_chat_410_disables_the_webhook_and_falls_back(world: World) -> None:
    from tests.peers.chat_sink import Reply

    world.peers.chat.script(Reply(status=410))
    async with world.serve() as service:
        await service.post("resolved", customer=customer(world.peers, "chat", "sms"))
        await service.drain()

        assert len(world.peers.twilio.messages) == 1
        assert (await service.get_customer())["chat_webhook"] is None
        assert len(await service.entries("address_disabled")) == 1


async def test_chat_to_a_private_address_is_refused_for_good_with_the_reason(
    world: World,
) -> None:
    world.configure(allow_private_networks=False)
    async with world.serve() as service:
        await service.post("resolved", customer=customer(world.peers, "chat", "sms"))
        await service.drain()

        assert world.peers.chat.requests == [], "a byte reached the private target"
        [failed] = await service.entries("failed")
        assert failed["detail"]["channel"] == "chat"
        assert "127.0.0.1" in failed["detail"]["detail"]
        by_channel = {n["channel"]: n for n in await service.notifications()}
        assert by_channel["chat"]["attempts"] == 1, "a refused target is not retried"
        assert by_channel["chat"]["state"] == "failed"
        assert by_channel["sms"]["previous_id"] == by_channel["chat"]["id"]
        assert len(world.peers.twilio.messages) == 1


async def test_retries_exhausted_fall_back_to_the_next_channel(world: World) -> None:
    world.peers.smtp.reply_next(*["421 4.7.0 Try again later"] * 3)  # max_attempts = 3
    async with world.serve() as service:
        await service.post("resolved", customer=customer(world.peers, "email", "sms"))
        await service.drain()
        for _ in range(2):
            retry = (await service.entries("retry_scheduled"))[-1]
            await advance_to(service, retry["detail"]["next_attempt_at"])

        assert world.peers.smtp.received == []
        assert len(world.peers.twilio.messages) == 1
        [failed] = await service.entries("failed")
        assert failed["detail"]["detail"].startswith("gave up after 3 attempts")
        assert kinds_of(await service.timeline())[-4:] == ["failed", "fallback", "planned", "sent"]


async def test_no_channel_left_is_dead_and_unreachable(world: World) -> None:
    world.peers.twilio.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")
    async with world.serve() as service:
        accepted = await service.post("resolved", customer=customer(world.peers, "sms"))
        await service.drain()

        notification = await service.notification(accepted["notification_ids"][0])
        assert notification["state"] == "dead"
        [dead] = await service.entries("dead")
        assert "21211" in dead["detail"]["reason"] or "To" in dead["detail"]["reason"]
        metrics = await (await service.client.get("/metrics")).text()
        assert "unreachable" in metrics


# --- callbacks --------------------------------------------------------------------------


async def test_twilio_delivered_callback_reaches_the_timeline(world: World) -> None:
    async with world.serve() as service:
        accepted = await service.post("resolved", customer=customer(world.peers, "sms", "email"))
        await service.drain()
        [message] = world.peers.twilio.messages

        status, _ = await world.peers.twilio.send_status(message, "delivered")

        assert status == 204
        notification = await service.notification(accepted["notification_ids"][0])
        assert notification["state"] == "delivered"
        assert len(await service.entries("delivered")) == 1
        # A late "sent" does not move it backwards.
        await world.peers.twilio.send_status(message, "sent")
        assert (await service.notification(notification["id"]))["state"] == "delivered"


async def test_twilio_undelivered_callback_falls_back_to_the_next_channel(world: World) -> None:
    async with world.serve() as service:
        await service.post("resolved", customer=customer(world.peers, "sms", "email"))
        await service.drain()
        [message] = world.peers.twilio.messages

        status, _ = await world.peers.twilio.send_status(message, "undelivered", error_code="30003")
        assert status == 204
        await service.drain()

        assert len(world.peers.smtp.received) == 1
        [fallback] = await service.entries("fallback")
        assert (fallback["detail"]["from"], fallback["detail"]["to"]) == ("sms", "email")
        states = {n["channel"]: n["state"] for n in await service.notifications()}
        assert states == {"sms": "undelivered", "email": "sent"}


async def test_inbound_stop_cancels_pending_sms(world: World) -> None:
    world.clock.now = world.clock.now.replace(hour=21)  # 22:00 in Amsterdam: held
    async with world.serve() as service:
        accepted = await service.post("resolved", customer=customer(world.peers, "sms"))
        await service.drain()
        inbound = f"{world.settings.server.public_url}/v1/callbacks/twilio/inbound"

        status, _ = await send_inbound(inbound, PHONE, "STOP", world.peers.twilio.auth_token)

        assert status == 200
        notification = await service.notification(accepted["notification_ids"][0])
        assert notification["state"] == "cancelled"
        assert (await service.get_customer())["opted_out"] == ["sms"]
        await service.advance(12 * 3600)
        assert world.peers.twilio.messages == []


# --- international addresses -----------------------------------------------------------


async def test_an_idn_email_domain_is_sent_as_punycode(world: World) -> None:
    async with world.serve() as service:
        idn = customer(world.peers, "email", email="ada@bücher.de")
        await service.post("resolved", customer=idn)
        await service.drain()

        [message] = world.peers.smtp.received
        assert world.peers.smtp.rcpt_tos == [["ada@xn--bcher-kva.de"]]
        assert message["To"].addresses[0].addr_spec == "ada@xn--bcher-kva.de"
        assert [n["state"] for n in await service.notifications()] == ["sent"]


async def test_a_non_ascii_local_part_is_refused_at_ingest_not_dead_later(world: World) -> None:
    # The relay does not offer SMTPUTF8 (aiosmtpd's default): the service learns it at start.
    async with world.serve() as service:
        body = {
            "id": "evt-utf8",
            "case_id": "C-1001",
            "status": "resolved",
            "occurred_at": service.clock().isoformat(),
            "customer": customer(world.peers, "email", email="bjørn@example.com"),
        }
        response = await service.client.post(
            "/v1/events", json=body, headers={"Authorization": f"Bearer {SOURCE_TOKEN}"}
        )
        assert response.status == 422, await response.text()
        problem = await response.json(content_type=None)
        assert [e["field"] for e in problem["errors"]] == ["customer.email"]
        assert "SMTPUTF8" in problem["errors"][0]["message"]
        assert world.peers.smtp.received == []


@pytest.mark.parametrize(
    ("email", "sent_to"),
    [
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
        ("jörg@bücher.de", "jörg@xn--bcher-kva.de"),
    ],
)
async def test_a_non_ascii_local_part_is_sent_with_smtputf8_where_the_relay_offers_it(
    world: World, email: str, sent_to: str
) -> None:
    world.peers.smtp.smtputf8 = True
    async with world.serve() as service:
        await service.post("resolved", customer=customer(world.peers, "email", email=email))
        await service.drain()

        [message] = world.peers.smtp.received
        assert world.peers.smtp.rcpt_tos == [[sent_to]]
        assert message["To"].addresses[0].addr_spec == sent_to
        assert [n["state"] for n in await service.notifications()] == ["sent"]


async def test_a_stored_customer_with_a_non_ascii_local_part_is_a_422_without_smtputf8(
    world: World,
) -> None:
    async with world.serve() as service:
        response = await service.admin(
            "PUT", "/v1/customers/cust-7", json={"email": "jörg@bücher.de", "channels": ["email"]}
        )
        assert response.status == 422, await response.text()
        problem = await response.json(content_type=None)
        assert [e["field"] for e in problem["errors"]] == ["email"]
        assert "SMTPUTF8" in problem["errors"][0]["message"]


async def test_a_relay_that_stops_offering_smtputf8_fails_the_message_with_the_reason(
    world: World,
) -> None:
    world.peers.smtp.smtputf8 = True
    async with world.serve() as service:
        await service.post(
            "resolved", customer=customer(world.peers, "email", email="jörg@bücher.de")
        )
        world.peers.smtp.smtputf8 = False  # the relay is reconfigured before the send
        await service.drain()

        assert world.peers.smtp.received == []
        [notification] = await service.notifications()
        assert (notification["state"], notification["attempts"]) == ("dead", 1)
        assert "needs SMTPUTF8, and the SMTP server does not offer it" in notification["last_error"]
