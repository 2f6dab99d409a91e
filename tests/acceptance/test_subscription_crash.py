"""kill -9 of `groundcontrol serve` while it consumes hundreds of broker messages:
after a restart every event is stored exactly once; the ones committed but not yet
acknowledged at the kill came again and were recognised as duplicates."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.acceptance.service import GroundControl, eventually
from tests.peers.brokers import TRANSPORTS, BrokerPeer, peer_for

pytestmark = pytest.mark.slow

EVENTS = 600
BACKLOG = 300
STOP_EVENTS = 300
BURST = 25
NAME = "crash-test"


def email_event(number: int) -> dict[str, Any]:
    return {
        "id": f"evt-{number:05d}",
        "case_id": f"C-{number:05d}",
        "status": "received",
        "occurred_at": "2026-11-22T10:00:00Z",
        "customer": {
            "id": f"cust-{number:05d}",
            "email": f"customer{number}@example.com",
            "channels": ["email"],
        },
        "data": {"case_title": "Address change", "eta": "2026-11-25"},
    }


def subscribe(service: GroundControl, broker: BrokerPeer) -> None:
    """Append the `[[subscriptions]]` table to the service's config file."""
    entry = broker.subscription(NAME, source="crm") | {"prefetch": 20}
    lines = ["[[subscriptions]]", *(f"{key} = {_toml(value)}" for key, value in entry.items())]
    with service.config.open("a") as config:
        config.write("\n" + "\n".join(lines) + "\n")


def _toml(value: object) -> str:
    return str(value) if isinstance(value, int) else json.dumps(value)


async def publish(broker: BrokerPeer, numbers: range) -> None:
    for number in numbers:
        await broker.publish(json.dumps(email_event(number)).encode())


async def publish_steadily(broker: BrokerPeer, numbers: range) -> None:
    """Bursts every 100 ms: the stream is still flowing when the kill comes."""
    for number in numbers:
        await broker.publish(json.dumps(email_event(number)).encode())
        if number % BURST == BURST - 1:
            await asyncio.sleep(0.1)


async def consumed(service: GroundControl) -> float:
    return await _metric(service, "groundcontrol_subscription_consumed_total")


async def _metric(service: GroundControl, name: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(f"{service.base_url}/metrics") as r:
        text = await r.text()
    pattern = rf'{name}{{subscription="{NAME}"}} ([\d.e+]+)'
    found = re.search(pattern, text)
    return float(found[1]) if found else 0.0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_kill_9_while_consuming_loses_no_message_and_plans_none_twice(
    tmp_path: Path, transport: str
) -> None:
    # A short lease: sends in flight at the kill (the dispatcher's own crash story,
    # tests/acceptance/test_crash_safety.py) are retried soon after the restart.
    service = GroundControl(tmp_path, delivery={"lease": "3s"})
    async with peer_for(transport) as broker:
        subscribe(service, broker)
        try:
            # A backlog, so the service is busy (messages in hand) when it dies.
            await publish(broker, range(BACKLOG))
            await service.start()
            publishing = asyncio.create_task(publish_steadily(broker, range(BACKLOG, EVENTS)))

            async def some_consumed() -> bool:
                return await consumed(service) >= 100

            await eventually(some_consumed, within=30, what="100 messages consumed")
            at_kill = await consumed(service)
            await service.kill()
            assert at_kill < EVENTS, "everything was consumed: the kill proves nothing"
            await publishing

            await service.start()
            await service.wait_for_state("sent", EVENTS, within=60)
            duplicates = await _metric(service, "groundcontrol_subscription_duplicates_total")
            await service.stop()
        finally:
            await service.close()
        dead = await broker.dead_letters()

    assert dead == []
    events = service.store_rows("SELECT source, event_id FROM events")
    assert len(events) == len(set(events)) == EVENTS, service.log()
    per_case = service.store_rows("SELECT case_id, count(*) FROM notifications GROUP BY case_id")
    assert len(per_case) == EVENTS and {count for _, count in per_case} == {1}
    print(
        f"{transport}: {at_kill:.0f} consumed before the kill, "
        f"{duplicates:.0f} redelivered after it as duplicates"
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sigterm_while_consuming_acknowledges_what_it_committed_and_leaves_the_rest(
    tmp_path: Path, transport: str
) -> None:
    service = GroundControl(tmp_path)
    async with peer_for(transport) as broker:
        subscribe(service, broker)
        try:
            await publish(broker, range(STOP_EVENTS))
            await service.start()

            async def some_consumed() -> bool:
                return await consumed(service) >= 100

            await eventually(some_consumed, within=30, what="100 messages consumed")
            service.terminate()
            async with asyncio.timeout(30):
                assert await service.exit_code() == 0, service.log()
            first_run = len(service.store_rows("SELECT event_id FROM events"))
            # A clean stop leaves nothing leased: what it claimed was sent or given back
            # (a claim under way at the SIGTERM once waited out its lease: 60 s late).
            leased = service.store_rows("SELECT id FROM notifications WHERE state = 'sending'")
            assert leased == [], service.log()

            await service.start()
            await service.wait_for_state("sent", STOP_EVENTS, within=60)
            duplicates = await _metric(service, "groundcontrol_subscription_duplicates_total")
            await service.stop()
        finally:
            await service.close()

    assert first_run < STOP_EVENTS, "everything was consumed before the stop: it proves nothing"
    # Every event committed before the stop was acknowledged: none came back.
    assert duplicates == 0
    events = service.store_rows("SELECT source, event_id FROM events")
    assert len(events) == len(set(events)) == STOP_EVENTS, service.log()
