"""Quiet hours through the running service: in the customer's own time zone, deferred to
the window's end with the timeline saying until when; urgent goes through; a customer
without a time zone gets the configured default. Window: 21:00-08:00 local."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.service.harness import World, customer

from groundcontrol.settings import QuietHoursSettings

# 21:30 in Amsterdam (CET, UTC+1); 15:30 in New York; 05:30 the next day in Tokyo.
EVENING = datetime(2026, 11, 22, 20, 30, tzinfo=UTC)
AMSTERDAM_MORNING = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 CET


async def test_message_due_at_night_waits_for_the_end_of_the_window(world: World) -> None:
    world.clock.now = EVENING
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()

        assert world.peers.twilio.messages == []
        [deferred] = await service.entries("deferred")
        assert deferred["detail"]["detail"] == "quiet hours"
        assert deferred["detail"]["until"] == AMSTERDAM_MORNING.isoformat()
        [pending] = await service.notifications()
        assert pending["state"] == "pending"
        assert pending["attempts"] == 0, "a deferral is not an attempt"

        await service.advance((AMSTERDAM_MORNING - EVENING).total_seconds() - 1)
        assert world.peers.twilio.messages == []
        await service.advance(1)
        assert len(world.peers.twilio.messages) == 1
        # The follow-up fell due while "received" was still waiting: it stood aside
        # rather than arrive in the same minute as the message it follows up.
        [skipped] = await service.entries("follow_up_skipped")
        assert skipped["notification_id"] == pending["id"]


async def test_urgent_bypasses_quiet_hours(world: World) -> None:
    world.clock.now = EVENING
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"), priority="urgent")
        await service.drain()

        assert len(world.peers.twilio.messages) == 1
        assert await service.entries("deferred") == []


async def test_the_window_is_in_the_customers_own_time_zone(world: World) -> None:
    world.clock.now = EVENING
    async with world.serve() as service:
        new_yorker = customer(world.peers, "sms", timezone="America/New_York")
        await service.post("received", customer=new_yorker)
        await service.drain()

        assert len(world.peers.twilio.messages) == 1


async def test_customer_without_a_time_zone_gets_the_configured_default(world: World) -> None:
    world.configure(quiet_hours=QuietHoursSettings(default_timezone="Asia/Tokyo"))
    world.clock.now = EVENING
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms", timezone=None))
        await service.drain()

        [deferred] = await service.entries("deferred")
        # 08:00 in Tokyo (UTC+9); in UTC, the default default, 20:30 is not quiet.
        assert deferred["detail"]["until"] == "2026-11-22T23:00:00+00:00"
        assert world.peers.twilio.messages == []


async def test_deferral_follows_the_dst_change_in_the_customers_zone(world: World) -> None:
    # Amsterdam falls back from CEST to CET in the night of 24-25 October 2026:
    # the window opens at 21:00 CEST (19:00 UTC) and closes at 08:00 CET (07:00 UTC).
    world.clock.now = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()

        [deferred] = await service.entries("deferred")
        assert deferred["detail"]["until"] == "2026-10-25T07:00:00+00:00"


async def test_disabled_quiet_hours_send_at_night(world: World) -> None:
    world.configure(quiet_hours=QuietHoursSettings(enabled=False))
    world.clock.now = EVENING
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()

        assert len(world.peers.twilio.messages) == 1


async def test_a_follow_up_falling_due_at_night_is_deferred_too(world: World) -> None:
    world.clock.now = datetime(2026, 11, 22, 19, 59, 55, tzinfo=UTC)  # 20:59:55 CET
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        assert len(world.peers.twilio.messages) == 1

        await service.advance(10)  # the follow-up is due at 21:00:05 local

        assert len(world.peers.twilio.messages) == 1
        [deferred] = await service.entries("deferred")
        assert deferred["detail"]["until"] == AMSTERDAM_MORNING.isoformat()
        await service.advance((AMSTERDAM_MORNING - world.clock.now).total_seconds())
        texts = world.peers.sms_texts()
        assert len(texts) == 2, "repetitions due while the first waited were not skipped"
        assert "still working" in texts[1]
        assert len(await service.entries("follow_up_skipped")) == 1
