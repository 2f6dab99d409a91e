"""kill -9 mid-flight: nothing accepted is lost; only sends in flight at the crash repeat."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.acceptance.service import (
    CHAT_KEY,
    GroundControl,
    chat_event,
    eventually,
    received_by_case,
)
from tests.peers.chat_sink import ChatSink, Reply

pytestmark = pytest.mark.slow

EVENTS = 200
CONCURRENCY = 20
SINK_DELAY = 0.2  # seconds: a slow receiver, so sends are always in flight


async def test_kill_9_mid_flight_loses_nothing_and_repeats_only_what_was_in_flight(
    tmp_path: Path,
) -> None:
    service = GroundControl(tmp_path, delivery={"concurrency": CONCURRENCY, "lease": "3s"})
    async with ChatSink(Reply(delay=SINK_DELAY), signing_key=CHAT_KEY) as sink:
        try:
            await service.start()
            accepted = await service.post_events(chat_event(n, sink.url) for n in range(EVENTS))
            assert len(accepted) == EVENTS, service.log()
            await sink.wait_for(EVENTS // 3)
            await eventually(lambda: _sink_busy(sink), within=10, what="a send at the sink")
            await service.kill()
            killed_at = time.monotonic()
            in_flight = in_flight_cases(service)
            answered_before_kill = sum(
                1 for request in sink.requests if request.at + SINK_DELAY < killed_at
            )
            assert 0 < len(in_flight) <= CONCURRENCY
            assert answered_before_kill < EVENTS, "the kill came too late to prove anything"

            await service.start()
            await service.wait_for_state("sent", EVENTS, within=40)
        finally:
            await service.close()

    received = received_by_case(sink)
    assert set(received) == set(accepted), "an accepted event was never delivered"
    repeated = {case: ids for case, ids in received.items() if len(ids) > 1}
    assert set(repeated) <= in_flight, "a send that was not in flight at the crash repeated"
    assert all(len(ids) == 2 and len(set(ids)) == 1 for ids in repeated.values()), repeated
    assert len({ids[0] for ids in received.values()}) == EVENTS, "webhook-ids must differ"
    print(f"in flight at kill: {len(in_flight)}, repeated: {len(repeated)}")


async def _sink_busy(sink: ChatSink) -> bool:
    """A request arrived so recently that the sink has not answered it yet."""
    return any(r.at > time.monotonic() - SINK_DELAY / 2 for r in sink.requests[-CONCURRENCY:])


def in_flight_cases(service: GroundControl) -> set[str]:
    """Cases whose notification was claimed (state sending) when the service died."""
    rows = service.store_rows("SELECT case_id FROM notifications WHERE state = 'sending'")
    return {case_id for (case_id,) in rows}
