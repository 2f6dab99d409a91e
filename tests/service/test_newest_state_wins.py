"""Newest state wins, through the running service: an older event is recorded and sends
nothing; a message a newer status makes stale is superseded, never sent."""

from __future__ import annotations

from datetime import timedelta

from tests.service.harness import World, customer

RECEIVED = "received your request"
RESOLVED = "is done"


async def test_an_older_event_is_recorded_and_sends_nothing(world: World) -> None:
    async with world.serve() as service:
        await service.post("in_progress", customer=customer(world.peers, "sms"))
        await service.advance(30)
        assert len(world.peers.twilio.messages) == 1

        earlier = world.clock() - timedelta(hours=1)
        accepted = await service.post("received", occurred_at=earlier)
        await service.advance(60)

        assert accepted["outcome"] == "stale"
        assert accepted["notification_ids"] == []
        assert len(world.peers.twilio.messages) == 1
        stale = (await service.entries("event"))[-1]["detail"]
        assert stale["status"] == "received"
        assert stale["outcome"] == "stale"
        assert stale["note"] == "older than the current status 'in_progress'"
        assert await service.entries("follow_up_scheduled") == [], "a stale rule started"


async def test_a_lower_sequence_is_stale_whatever_its_time(world: World) -> None:
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"), sequence=5)
        await service.drain()
        world.clock.advance(seconds=5)

        accepted = await service.post("resolved", sequence=4)
        await service.drain()

        assert accepted["outcome"] == "stale"
        assert len(world.peers.twilio.messages) == 1
        assert RECEIVED in world.peers.sms_texts()[0]


async def test_a_pending_received_superseded_by_resolved_is_never_sent(world: World) -> None:
    async with world.serve() as service:
        first = await service.post("received", customer=customer(world.peers, "sms"))
        world.clock.advance(seconds=1)
        await service.post("resolved")
        await service.advance(120)

        texts = world.peers.sms_texts()
        assert len(texts) == 1
        assert RESOLVED in texts[0]
        [received_id] = first["notification_ids"]
        received = await service.notification(received_id)
        assert received["state"] == "superseded"
        assert received["attempt_log"] == []
        [superseded] = await service.entries("superseded")
        assert superseded["notification_id"] == received_id
        assert superseded["detail"]["reason"] == "newer status 'resolved'"


async def test_received_arriving_after_resolved_never_reaches_the_customer(world: World) -> None:
    async with world.serve() as service:
        resolved_at = world.clock()
        await service.post("resolved", customer=customer(world.peers, "sms"))
        await service.drain()
        # The "received" event was delayed in the workflow system's queue.
        late = await service.post("received", occurred_at=resolved_at - timedelta(minutes=10))
        await service.advance(120)

        assert late["outcome"] == "stale"
        texts = world.peers.sms_texts()
        assert len(texts) == 1
        assert RESOLVED in texts[0]


async def test_a_message_made_stale_while_deferred_is_superseded(world: World) -> None:
    # 21:30 in Amsterdam: "received" waits for the morning; "resolved" arrives at night.
    world.clock.now = world.clock.now.replace(hour=20, minute=30)
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        world.clock.advance(hours=1)
        await service.post("resolved")
        await service.advance(12 * 3600)

        texts = world.peers.sms_texts()
        assert len(texts) == 1
        assert RESOLVED in texts[0]
        states = [n["state"] for n in await service.notifications()]
        assert states == ["superseded", "sent"]
