"""SIGTERM mid-flight: in-flight sends finish, the rest is released, exit 0; nothing
is lost and nothing is sent twice."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from tests.acceptance.service import CHAT_KEY, GroundControl, chat_event, received_by_case
from tests.peers.chat_sink import ChatSink, Reply

pytestmark = pytest.mark.slow

EVENTS = 100
CONCURRENCY = 20
SINK_DELAY = 0.5
GRACE = 10.0


async def test_sigterm_mid_flight_finishes_sends_releases_the_rest_and_exits_0(
    tmp_path: Path,
) -> None:
    service = GroundControl(
        tmp_path, delivery={"concurrency": CONCURRENCY}, shutdown_grace=f"{GRACE:g}s"
    )
    async with ChatSink(Reply(delay=SINK_DELAY), signing_key=CHAT_KEY) as sink:
        try:
            await service.start()
            accepted = await service.post_events(chat_event(n, sink.url) for n in range(EVENTS))
            assert len(accepted) == EVENTS, service.log()
            await sink.wait_for(EVENTS // 4)
            asked_at = time.monotonic()
            service.terminate()
            async with asyncio.timeout(GRACE):
                assert await service.exit_code() == 0, service.log()
            took = time.monotonic() - asked_at
            received_at_stop = sink.count
            assert (
                service.store_rows("SELECT id FROM notifications WHERE state = 'sending'") == []
            ), "a claim was left behind"
            assert received_at_stop < EVENTS, "the stop came too late to prove anything"

            await service.start()
            await service.wait_for_state("sent", EVENTS, within=30)
        finally:
            await service.close()

    received = received_by_case(sink)
    assert set(received) == set(accepted), "an accepted event was never delivered"
    assert all(len(ids) == 1 for ids in received.values()), "a message was sent twice"
    print(f"stopped in {took:.2f}s with {received_at_stop} of {EVENTS} received")


async def test_a_send_outliving_the_grace_is_retried_later_as_a_possible_duplicate(
    tmp_path: Path,
) -> None:
    service = GroundControl(tmp_path, shutdown_grace="1s")
    async with ChatSink(signing_key=CHAT_KEY) as sink:
        sink.script(Reply(delay=5.0))  # the first send outlives the grace; then 200 at once
        try:
            await service.start()
            [case_id] = await service.post_events([chat_event(1, sink.url)])
            await sink.wait_for(1)
            service.terminate()
            async with asyncio.timeout(GRACE):
                assert await service.exit_code() == 0, service.log()
            [(outcome, detail)] = service.store_rows("SELECT outcome, detail FROM attempts")

            await service.start()
            await service.wait_for_state("sent", 1, within=15)
            entries = await service.timeline(case_id)
        finally:
            await service.close()

    assert (outcome, detail) == ("transient", "shut down mid-send")
    [retry] = [entry["detail"] for entry in entries if entry["kind"] == "retry_scheduled"]
    assert retry["possible_duplicate"] is True
    [ids] = received_by_case(sink).values()
    assert len(ids) == 2 and len(set(ids)) == 1, "the repeat must carry the same webhook-id"
