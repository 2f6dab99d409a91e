"""Dead letters: attempts used up -> dead with its reason, listed, re-driven one by one
and in bulk once the receiver is healthy, and the timeline tells the whole story."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.acceptance.service import CHAT_KEY, GroundControl, chat_event, received_by_case
from tests.peers.chat_sink import ChatSink, Reply

pytestmark = pytest.mark.slow

EVENTS = 2  # 2 x max_attempts failures: below the breaker threshold (5), so no pause


async def test_exhausted_notifications_are_dead_listed_and_redriven(tmp_path: Path) -> None:
    delivery = {"max_attempts": 2, "backoff_initial": "1s", "backoff_max": "1s"}
    service = GroundControl(tmp_path, delivery=delivery)
    async with ChatSink(Reply(status=500), signing_key=CHAT_KEY) as sink:
        try:
            await service.start()
            accepted = await service.post_events(chat_event(n, sink.url) for n in range(EVENTS))
            await service.wait_for_state("dead", EVENTS, within=20)
            dead = await service.notifications(state="dead")
            assert all(n["last_error"] == "gave up after 2 attempts: HTTP 500" for n in dead)
            assert all(len(received_by_case(sink)[case]) == 2 for case in accepted)

            sink.default = Reply()  # the receiver is healthy again
            one, *rest = sorted(n["id"] for n in dead)
            redriven = await service.admin("POST", f"/v1/notifications/{one}/retry", expect=202)
            # Re-queued; the dispatcher's own periodic tick may claim it before the
            # answer is read, never before the redrive committed.
            assert redriven["state"] in ("pending", "sending")
            bulk = await service.admin(
                "POST", "/v1/notifications/retry", json_body={"state": "dead"}, expect=202
            )
            assert sorted(bulk["ids"]) == rest
            await service.wait_for_state("sent", EVENTS, within=20)
            timelines = [await service.timeline(case) for case in accepted]
        finally:
            await service.close()

    for entries in timelines:
        kinds = [entry["kind"] for entry in entries]
        assert kinds[-4:] == ["retry_scheduled", "dead", "redriven", "sent"], kinds
        retry = entries[kinds.index("retry_scheduled")]["detail"]
        assert retry["detail"] == "HTTP 500" and "next_attempt_at" in retry
        dead_entry = entries[kinds.index("dead")]["detail"]
        assert dead_entry["reason"] == "gave up after 2 attempts: HTTP 500"
    assert all(len(ids) == 3 for ids in received_by_case(sink).values())
