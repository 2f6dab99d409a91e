"""A receiver that answers 503 for a while: no retry storm, Retry-After honoured,
everything delivered once it is back, and the timeline explains every wait."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path

import pytest
from tests.acceptance.service import CHAT_KEY, GroundControl, chat_event, received_by_case
from tests.peers.chat_sink import ChatSink, Received, Reply

from groundcontrol.durations import parse_duration

pytestmark = pytest.mark.slow

EVENTS = 30
CONCURRENCY = 10
RETRY_RATE = 4  # retries a second per channel; the burst is the same number
OUTAGE = 5.0  # seconds of 503s, shorter than the breaker's first cool-down
COOL_DOWN = "8s"


async def test_an_outage_is_ridden_out_without_a_retry_storm(tmp_path: Path) -> None:
    delivery = {
        "concurrency": CONCURRENCY,
        "retry_rate": RETRY_RATE,
        "backoff_initial": "1s",
        "backoff_max": "2s",
        "max_attempts": 10,
        "breaker_cool_down": COOL_DOWN,
    }
    service = GroundControl(tmp_path, delivery=delivery)
    async with ChatSink(Reply(status=503), signing_key=CHAT_KEY) as sink:
        try:
            await service.start()
            began = time.monotonic()
            accepted = await service.post_events(chat_event(n, sink.url) for n in range(EVENTS))
            await asyncio.sleep(OUTAGE)  # the outage itself: what this test is about
            sink.default = Reply()
            ended = time.monotonic()
            await service.wait_for_state("sent", EVENTS, within=45)
            timelines = {case: await service.timeline(case) for case in accepted}
        finally:
            await service.close()

    during = [r for r in sink.requests if began <= r.at < ended]
    # One wave of first attempts trips the breaker; then nothing until its cool-down ends.
    # On a slow machine posting the events eats into the outage, and a cool-down can end
    # inside it: then one half-open probe per cool-down is allowed, never a storm.
    assert during, "no attempt during the outage"
    probes = int((ended - during[0].at) // parse_duration(COOL_DOWN).total_seconds())
    assert len(during) <= CONCURRENCY + probes, f"{len(during)} attempts in a {OUTAGE}s outage"
    assert set(received_by_case(sink)) == set(accepted)
    _assert_retries_paced([r for r in sink.requests if r.at >= ended and _retried(r, sink)])
    kinds = [entry["kind"] for entries in timelines.values() for entry in entries]
    assert kinds.count("sent") == EVENTS
    assert "retry_scheduled" in kinds and "deferred" in kinds
    for entries in timelines.values():
        for entry in entries:
            if entry["kind"] == "retry_scheduled":
                assert entry["detail"]["detail"] == "HTTP 503"
                assert _at(entry["detail"]["next_attempt_at"]) > _at(entry["at"])
            if entry["kind"] == "deferred":
                assert "provider is failing" in entry["detail"]["detail"]
    print(f"{len(during)} attempts during a {OUTAGE:g}s outage, {len(sink.requests)} in all")


async def test_retry_after_is_honoured(tmp_path: Path) -> None:
    delivery = {"backoff_initial": "1s", "backoff_max": "1s"}
    service = GroundControl(tmp_path, delivery=delivery)
    async with ChatSink(signing_key=CHAT_KEY) as sink:
        sink.script(Reply(status=503, retry_after="3"), Reply(status=503, retry_after="3"))
        try:
            await service.start()
            accepted = await service.post_events(chat_event(n, sink.url) for n in range(2))
            await service.wait_for_state("sent", 2, within=20)
            timelines = [await service.timeline(case) for case in accepted]
        finally:
            await service.close()

    for case in accepted:
        first, second = [r.at for r in sink.requests if _case(r) == case]
        assert second - first >= 2.9, "retried before the receiver's Retry-After"
    for entries in timelines:
        [retry] = [entry for entry in entries if entry["kind"] == "retry_scheduled"]
        wait = _at(retry["detail"]["next_attempt_at"]) - _at(retry["at"])
        assert wait.total_seconds() >= 2.9  # `at` is the commit, just after the decision


def _assert_retries_paced(retries: list[Received]) -> None:
    """After a burst of RETRY_RATE, at most RETRY_RATE retries a second go out.

    Judged over the whole span, not request by request: arrival times are read in
    the test's event loop, which a busy machine can stall and so bunch together."""
    times = sorted(r.at for r in retries)
    assert len(times) > RETRY_RATE, "too few retries to see the pace"
    paced = (len(times) - RETRY_RATE) / RETRY_RATE
    span = times[-1] - times[0]
    assert span >= paced - 0.3, f"{len(times)} retries in {span:.2f}s: faster than the rate"


def _retried(request: Received, sink: ChatSink) -> bool:
    """Whether an earlier request carried the same message."""
    key = request.headers["webhook-id"]
    return any(r.at < request.at and r.headers["webhook-id"] == key for r in sink.requests)


def _case(request: Received) -> str:
    return str(json.loads(request.body)["case_id"])


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)
