"""Silence follow-ups through the running service: fire after `after`, repeat `every` up to
`max`, survive a restart, die with a newer status, render with the case's latest data.

The journeys (tests/service/harness.py JOURNEYS) follow a "received" case up after 10 s,
then every 5 s, at most 3 times.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from tests.service.harness import World, customer


async def test_follow_up_fires_after_its_delay_then_repeats_up_to_max(world: World) -> None:
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        assert len(world.peers.twilio.messages) == 1

        await service.advance(9.9)
        assert len(world.peers.twilio.messages) == 1, "fired before `after`"
        for expected in (2, 3, 4):
            await service.advance(0.1 if expected == 2 else 5)
            assert len(world.peers.twilio.messages) == expected
        await service.advance(60)

        texts = world.peers.sms_texts()
        assert len(texts) == 4, "repeated beyond max"
        assert "received your request" in texts[0]
        assert all("still working" in text for text in texts[1:])
        fired = await service.entries("follow_up_fired")
        assert [entry["detail"]["repeat"] for entry in fired] == [1, 2, 3]
        assert [entry["at"] for entry in fired] == [
            "2026-11-22T10:00:10+00:00",
            "2026-11-22T10:00:15+00:00",
            "2026-11-22T10:00:20+00:00",
        ]


async def test_follow_up_renders_with_the_cases_latest_data(world: World) -> None:
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        # Same status, new data: nothing is sent, but the case learns the new title.
        await service.post("received", data={"case_title": "Move to Utrecht"})
        await service.drain()
        assert len(world.peers.twilio.messages) == 1

        await service.advance(10)

        follow_up = world.peers.sms_texts()[-1]
        assert "still working" in follow_up
        assert "Move to Utrecht" in follow_up
        assert "Address change" not in follow_up


async def test_newer_status_cancels_pending_follow_ups_when_it_is_recorded(
    world: World,
) -> None:
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        world.clock.advance(seconds=5)

        await service.post("resolved")

        # Cancelled by the commit that recorded "resolved", before anything is drained.
        cancelled = await service.entries("follow_up_cancelled")
        assert len(cancelled) == 1
        assert cancelled[0]["detail"]["reason"] == "newer status 'resolved'"
        await service.drain()
        await service.advance(60)
        texts = world.peers.sms_texts()
        assert len(texts) == 2
        assert not any("still working" in text for text in texts)
        assert await service.entries("follow_up_fired") == []


async def test_a_stale_event_does_not_cancel_follow_ups(world: World) -> None:
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        earlier = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        await service.post("resolved", occurred_at=earlier)

        await service.advance(10)

        assert await service.entries("follow_up_cancelled") == []
        assert "still working" in world.peers.sms_texts()[-1]


async def test_follow_up_survives_a_restart(world: World) -> None:
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
    world.clock.advance(seconds=30)

    # A new app on the same SQLite file: the due follow-up is still there, and fires
    # once (a catch-up), not once per missed repetition.
    async with world.serve() as restarted:
        await restarted.drain()
        texts = world.peers.sms_texts()
        assert len(texts) == 2
        assert "still working" in texts[1]
        await restarted.advance(5)
        assert len(world.peers.twilio.messages) == 3


async def test_follow_up_fires_within_a_second_of_its_due_time_with_the_real_loop(
    world: World,
) -> None:
    """The one wall-clock test: the real run loop and APScheduler wake-ups, no drain()."""
    journeys = """
    [[rules]]
    status = "received"
    template = "case_received"
    follow_up = { after = "1s", template = "still_working" }
    """
    world.configure(journeys=journeys)
    sink = world.peers.chat
    world.clock.run_in_real_time()

    async with world.serve(run_dispatcher=True) as svc:
        posted = time.monotonic()
        await svc.post("received", customer=customer(world.peers, "chat"))
        async with asyncio.timeout(10):
            await sink.wait_for(2)

    late = sink.requests[1].at - posted - 1.0
    assert -0.05 <= late <= 1.5, f"follow-up arrived {late:.2f}s after its due time"
    assert "still working" in world.peers.chat_texts()[1]
