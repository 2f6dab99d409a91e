"""Coalescing through the running service: several changes of one case inside a rule's
`coalesce` window produce one message, with the latest status and data.

The window trails the latest change: each new status replaces the waiting message and
waits its own rule's window again (a status without `coalesce` goes at once)."""

from __future__ import annotations

from tests.service.harness import JOURNEYS, World, customer

BOTH_COALESCE = JOURNEYS.replace(
    'template = "waiting_on_customer"\npriority = "high"',
    'template = "waiting_on_customer"\npriority = "high"\ncoalesce = "30s"',
)


async def test_changes_inside_the_window_make_one_message_with_the_latest_data(
    world: World,
) -> None:
    async with world.serve() as service:
        await service.post("in_progress", customer=customer(world.peers, "sms"))
        await service.advance(10)
        await service.post("in_progress", data={"case_title": "Move to Utrecht"})
        await service.advance(19)
        assert world.peers.twilio.messages == [], "sent before the window closed"

        await service.advance(1)
        await service.advance(600)

        texts = world.peers.sms_texts()
        assert len(texts) == 1
        assert "now working on" in texts[0]
        assert "Move to Utrecht" in texts[0]
        [planned] = await service.entries("planned")
        assert planned["detail"]["note"] == "coalescing changes for 30s"
        assert planned["detail"]["due_at"] == "2026-11-22T10:00:30+00:00"


async def test_several_statuses_inside_the_window_make_one_message_with_the_latest(
    world: World,
) -> None:
    world.configure(journeys=BOTH_COALESCE)
    async with world.serve() as service:
        first = await service.post("in_progress", customer=customer(world.peers, "sms"))
        await service.advance(10)
        await service.post("waiting_on_customer")
        await service.advance(29)
        assert world.peers.twilio.messages == []

        await service.advance(1)
        await service.advance(600)

        texts = world.peers.sms_texts()
        assert len(texts) == 1
        assert "we need" in texts[0]
        [superseded] = await service.entries("superseded")
        assert superseded["notification_id"] == first["notification_ids"][0]


async def test_a_status_without_a_window_ends_the_wait_at_once(world: World) -> None:
    async with world.serve() as service:
        await service.post("in_progress", customer=customer(world.peers, "sms"))
        await service.advance(10)
        await service.post("resolved")
        await service.drain()

        texts = world.peers.sms_texts()
        assert len(texts) == 1
        assert "is done" in texts[0]
        await service.advance(600)
        assert len(world.peers.twilio.messages) == 1
