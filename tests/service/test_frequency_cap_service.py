"""The frequency cap through the running service: per customer, across every source and
case; messages over the cap are held (deferred, on the timeline), never lost; urgent
goes through."""

from __future__ import annotations

from tests.service.harness import OTHER_SOURCE_TOKEN, World, customer

from groundcontrol.settings import LimitSettings


async def test_messages_over_the_cap_are_held_until_the_window_frees_a_slot(
    world: World,
) -> None:
    world.configure(limits=LimitSettings(per_hour=2))
    async with world.serve() as service:
        ada = customer(world.peers, "sms")
        await service.post("resolved", case_id="C-1", customer=ada)
        await service.drain()
        world.clock.advance(seconds=60)
        await service.post("resolved", case_id="C-2", token=OTHER_SOURCE_TOKEN)
        await service.drain()
        world.clock.advance(seconds=60)
        held = await service.post("resolved", case_id="C-3")
        await service.drain()

        assert len(world.peers.twilio.messages) == 2
        [deferred] = await service.entries("deferred", case_id="C-3")
        assert deferred["detail"]["detail"] == (
            "frequency cap: 2 messages in the last hour (cap 2)"
        )
        # The first message went at 10:00:00: a slot frees an hour later.
        assert deferred["detail"]["until"] == "2026-11-22T11:00:00+00:00"
        [notification_id] = held["notification_ids"]
        assert (await service.notification(notification_id))["state"] == "pending"

        await service.advance(3600 - 120 - 1)
        assert len(world.peers.twilio.messages) == 2
        await service.advance(1)
        assert len(world.peers.twilio.messages) == 3
        assert (await service.notification(notification_id))["state"] == "sent"


async def test_the_cap_counts_every_channel_and_holds_each_message_in_turn(
    world: World,
) -> None:
    world.configure(limits=LimitSettings(per_hour=1, per_day=2))
    async with world.serve() as service:
        await service.post("resolved", case_id="C-1", customer=customer(world.peers, "email"))
        await service.drain()
        await service.post("resolved", case_id="C-2", customer=customer(world.peers, "chat"))
        await service.post("resolved", case_id="C-3", customer=customer(world.peers, "sms"))
        await service.drain()
        assert world.peers.total() == 1

        await service.advance(3600)
        assert world.peers.total() == 2
        await service.advance(3600)
        assert world.peers.total() == 2, "the daily cap holds the third"
        held = await service.entries("deferred", "C-2") + await service.entries("deferred", "C-3")
        last = max(held, key=lambda entry: entry["at"])
        # At 11:00 one held message took the free hourly slot; the other hit both caps.
        assert last["at"] == "2026-11-22T11:00:00+00:00"
        assert last["detail"]["detail"] == (
            "frequency cap: 1 message in the last hour (cap 1); "
            "2 messages in the last 24 hours (cap 2)"
        )
        assert last["detail"]["until"] == "2026-11-23T10:00:00+00:00"

        await service.advance(24 * 3600)
        assert world.peers.total() == 3


async def test_urgent_bypasses_the_cap(world: World) -> None:
    world.configure(limits=LimitSettings(per_hour=1))
    async with world.serve() as service:
        ada = customer(world.peers, "sms")
        await service.post("resolved", case_id="C-1", customer=ada)
        await service.drain()
        await service.post("resolved", case_id="C-2", priority="urgent")
        await service.drain()

        assert len(world.peers.twilio.messages) == 2
        assert await service.entries("deferred", case_id="C-2") == []
