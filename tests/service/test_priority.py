"""Priority through the running service: with a backlog and one send at a time, urgent
goes first, then high, normal, low, oldest first within a class; a later event raising
a case's priority raises its pending messages."""

from __future__ import annotations

from tests.service.harness import World, customer

from groundcontrol.settings import DeliverySettings


def one_at_a_time(world: World) -> None:
    world.configure(delivery=DeliverySettings(outbox_dir=world.tmp_path / "outbox", concurrency=1))


def case_order(world: World, cases: list[str]) -> list[str]:
    """Which case each SMS the peer received was about, in arrival order."""
    return [next(c for c in cases if f"{c})" in text) for text in world.peers.sms_texts()]


async def test_backlog_is_served_by_priority_then_oldest_first(world: World) -> None:
    one_at_a_time(world)
    posted = [
        ("CASE-LOW", "low"),
        ("CASE-NORMAL-OLD", "normal"),
        ("CASE-HIGH", "high"),
        ("CASE-NORMAL-NEW", "normal"),
        ("CASE-URGENT", "urgent"),
    ]
    async with world.serve() as service:
        for case_id, priority in posted:
            ada = customer(world.peers, "sms", id=f"cust-{case_id}")
            await service.post("resolved", case_id=case_id, customer=ada, priority=priority)
            world.clock.advance(seconds=1)
        await service.drain()

    assert case_order(world, [c for c, _ in posted]) == [
        "CASE-URGENT",
        "CASE-HIGH",
        "CASE-NORMAL-OLD",
        "CASE-NORMAL-NEW",
        "CASE-LOW",
    ]


async def test_a_later_event_raising_priority_raises_pending_messages(world: World) -> None:
    one_at_a_time(world)
    async with world.serve() as service:
        first = await service.post(
            "resolved", case_id="CASE-A", customer=customer(world.peers, "sms"), priority="low"
        )
        await service.post("resolved", case_id="CASE-B", priority="high")
        # Same status again, now urgent: no new message, the pending one moves up.
        again = await service.post("resolved", case_id="CASE-A", priority="urgent")
        assert again["outcome"] == "unchanged"
        [pending_id] = first["notification_ids"]
        assert (await service.notification(pending_id))["priority"] == "urgent"

        await service.drain()

    assert case_order(world, ["CASE-A", "CASE-B"]) == ["CASE-A", "CASE-B"]
