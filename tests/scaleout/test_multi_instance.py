"""Several `groundcontrol serve` processes on one PostgreSQL: each message goes out once,
the load is shared, a killed instance's work is finished by the others, and an event
taken in by one instance wakes the others at once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from tests.peers.chat_sink import ChatSink, Reply
from tests.peers.postgres import POSTGRES_URL
from tests.peers.service_process import chat_event, received_by_case
from tests.scaleout.cluster import Cluster

log = logging.getLogger(__name__)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    # Three subprocesses migrate, start and drain on 2 cores: room for a loaded machine.
    pytest.mark.timeout(120),
    pytest.mark.skipif(not POSTGRES_URL, reason="GC_TEST_POSTGRES_URL is not set"),
]


@pytest.mark.parametrize("size", [2, 3])
async def test_each_message_goes_out_once_and_every_instance_sends(
    tmp_path: Path, schema_url: str, sink: ChatSink, size: int
) -> None:
    # A slow receiver and few slots per instance: no single instance can take it all.
    sink.default = Reply(delay=0.1)
    events = [chat_event(n, sink.url) for n in range(60)]
    async with Cluster(tmp_path, schema_url, size=size, delivery={"concurrency": 4}) as cluster:
        await cluster.post_spread(events)
        await cluster.wait_for_sent(len(events), within=40)
        attempts = await cluster.attempts()

    received = received_by_case(sink)
    assert len(received) == len(events)
    assert all(len(ids) == 1 for ids in received.values()), "a message was sent twice"
    sent_by = Counter(a.owner for a in attempts if a.sent)
    assert sum(sent_by.values()) == len(events)
    log.info("sends per instance: %s", sorted(sent_by.values()))
    assert len(sent_by) == size, f"not every instance sent: {sent_by}"


async def test_a_killed_instance_leaves_its_work_to_the_others(
    tmp_path: Path, schema_url: str, sink: ChatSink
) -> None:
    sink.default = Reply(delay=1.0)
    events = [chat_event(n, sink.url) for n in range(30)]
    delivery = {"concurrency": 5, "lease": "3s"}
    async with Cluster(tmp_path, schema_url, size=3, delivery=delivery) as cluster:
        await cluster.post_spread(events)
        await cluster.wait_for_requests(sink, 12, within=40)  # every instance mid-send
        victim = cluster.instances[0]
        await victim.kill()
        killed_at = time.monotonic()
        await cluster.wait_for_sent(len(events), within=40)
        attempts = await cluster.attempts()

    expired = [a for a in attempts if a.outcome == "lease_expired"]
    assert expired, "the killed instance held no leases: nothing was taken over"
    [victim_owner] = {a.owner for a in expired}
    taken_over = {a.notification_id for a in expired}
    finished_by = {a.owner for a in attempts if a.notification_id in taken_over and a.sent}
    assert finished_by and victim_owner not in finished_by

    received = received_by_case(sink)
    assert len(received) == len(events)
    assert all(len(set(ids)) == 1 for ids in received.values()), "a repeat had a new webhook-id"
    repeats = [case for case, ids in received.items() if len(ids) > 1]
    assert len(repeats) <= len(taken_over), "a message not in flight at the kill was repeated"
    # A repeat waits for the victim's lease (3 s) to run out, plus one poll.
    takeover = max(resent_at(sink, case) for case in repeats) - killed_at if repeats else 0.0
    log.info("takeover after the kill: %.2f s", takeover)
    assert takeover < 3 + 2, f"the others took {takeover:.1f}s to take over"


def resent_at(sink: ChatSink, case_id: str) -> float:
    return [r.at for r in sink.requests if json.loads(r.body)["case_id"] == case_id][-1]


async def test_an_event_on_one_instance_wakes_another_at_once(
    tmp_path: Path, schema_url: str, sink: ChatSink
) -> None:
    # One slot each and polling every 30 s: only LISTEN/NOTIFY can wake the idle instance.
    delivery = {"concurrency": 1, "poll_interval": "30s"}
    sink.script(Reply(hang=True))  # the first message keeps its sender's only slot busy
    async with Cluster(tmp_path, schema_url, size=2, delivery=delivery) as cluster:
        busy = cluster.instances[0]
        async with aiohttp.ClientSession() as session:
            assert await busy.post(session, chat_event(1, sink.url)) == 202
            await asyncio.wait_for(sink.wait_for(1), timeout=10)
            posted_at = time.monotonic()
            assert await busy.post(session, chat_event(2, sink.url)) == 202
            await asyncio.wait_for(sink.wait_for(2), timeout=5)
        latency = sink.requests[1].at - posted_at
        attempts = await cluster.attempts()

    first, second = (a.owner for a in attempts[:2])
    assert first != second, "the second message was not sent by the other instance"
    log.info("another instance woke and sent in %.3f s", latency)
    assert latency < 1.0, f"the other instance woke after {latency:.2f}s"
