"""Held messages let go through the running service: a restart with quiet hours off
releases what they held, and an operator's send-now releases one message at once."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.service.harness import World, customer

from groundcontrol.settings import QuietHoursSettings

# 21:30 in Amsterdam (CET): inside the default quiet hours.
EVENING = datetime(2026, 11, 22, 20, 30, tzinfo=UTC)


async def test_restarting_with_quiet_hours_off_releases_what_they_held(world: World) -> None:
    world.clock.now = EVENING
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        assert world.peers.twilio.messages == []

    world.clock.advance(minutes=10)
    world.configure(quiet_hours=QuietHoursSettings(enabled=False))
    async with world.serve() as service:
        await service.drain()

        assert len(world.peers.twilio.messages) == 1
        [released] = await service.entries("released")
        assert released["detail"]["reason"] == "quiet hours are off"
        [listed] = await service.notifications()
        sent = await service.notification(listed["id"])
        assert sent["state"] == "sent"
        assert sent["attempts"] == len(sent["attempt_log"]) == 1, "deferring is not an attempt"


async def test_restarting_with_quiet_hours_on_keeps_holding(world: World) -> None:
    world.clock.now = EVENING
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
    async with world.serve() as service:
        await service.drain()
        assert world.peers.twilio.messages == []
        assert await service.entries("released") == []


async def test_send_now_sends_a_held_message_past_quiet_hours(world: World) -> None:
    world.clock.now = EVENING
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        [held] = await service.notifications()

        response = await service.admin("POST", f"/v1/notifications/{held['id']}/send-now")
        assert response.status == 202, await response.text()
        await service.drain()

        assert len(world.peers.twilio.messages) == 1
        [released] = await service.entries("released")
        assert released["notification_id"] == held["id"]
        assert (await service.notification(held["id"]))["state"] == "sent"


async def test_send_now_refuses_what_is_not_pending_and_what_does_not_exist(
    world: World,
) -> None:
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        [sent] = await service.notifications()

        refused = await service.admin("POST", f"/v1/notifications/{sent['id']}/send-now")
        assert refused.status == 409
        assert refused.content_type == "application/problem+json"
        assert "is sent: not pending" in (await refused.json())["detail"]
        missing = await service.admin("POST", "/v1/notifications/nope/send-now")
        assert missing.status == 404


async def test_retry_still_refuses_a_deferred_message(world: World) -> None:
    world.clock.now = EVENING
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        [held] = await service.notifications()
        response = await service.admin("POST", f"/v1/notifications/{held['id']}/retry")
        assert response.status == 409
