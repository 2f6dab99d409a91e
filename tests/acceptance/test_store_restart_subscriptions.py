"""PostgreSQL goes away while a subscription consumes, once per broker: the batch in
hand is given back to the broker, nothing is acknowledged that was not committed, and
once the store is back every event is stored once and planned once, without waiting
for the broker's redelivery timeout.

The store is the real PostgreSQL behind a loopback TCP proxy the test cuts and
restores (the shared server itself is never restarted), as in `test_store_restart.py`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from tests.integration.api_harness import serve, settings_for
from tests.integration.test_subscriptions import NAME, case_event, consumed, dump, until
from tests.peers.brokers import TRANSPORTS, BrokerPeer, peer_for
from tests.peers.postgres import POSTGRES_URL, fetch, schema_url
from tests.peers.tcp_proxy import TcpProxy

from groundcontrol import keys
from groundcontrol.settings import StoreSettings

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason="no PostgreSQL")]

BEFORE, DURING = 200, 100
# Well past the wait below: a batch left to the broker's timeout would come too late.
ACK_WAIT = "60s"


@pytest.fixture(params=TRANSPORTS)
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[BrokerPeer]:
    async with peer_for(request.param) as peer:
        yield peer


async def publish(broker: BrokerPeer, numbers: range) -> None:
    for number in numbers:
        await broker.publish(dump(case_event(number)))


async def stored(url: str) -> list[str]:
    return [row["event_id"] for row in await fetch(url, "SELECT event_id FROM events")]


@pytest.mark.timeout(90)
async def test_a_store_outage_under_a_live_subscription_loses_and_doubles_nothing(
    tmp_path: Path, broker: BrokerPeer
) -> None:
    subscription = broker.subscription(NAME, source="crm") | {
        "reconnect_initial": "100ms",
        "reconnect_max": "500ms",
        "prefetch": 20,
    }
    if broker.transport == "nats":
        subscription["ack_wait"] = ACK_WAIT
    async with schema_url("gc_sub_restart") as url:
        real = make_url(url)
        async with TcpProxy(real.port or 5432, real.host or "127.0.0.1") as proxy:
            through = real.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
            settings = settings_for(
                tmp_path, store=StoreSettings(url=through), subscriptions=[subscription]
            )
            async with serve(settings) as api:

                def state() -> str:
                    return str(api.app[keys.SUBSCRIPTIONS].status()[NAME]["state"])

                await publish(broker, range(BEFORE))
                await until(lambda: consumed(api) >= 20, "consuming before the outage")
                await proxy.cut()
                await publish(broker, range(BEFORE, BEFORE + DURING))
                await until(lambda: state() == "reconnecting", "the outage noticed")
                await asyncio.sleep(1.0)  # down for a while, messages waiting
                assert len(await stored(url)) < BEFORE + DURING, "all in before the cut"
                proxy.restore()

                async def all_stored() -> bool:
                    return len(await stored(url)) >= BEFORE + DURING

                await until(all_stored, "every event stored, well before the ack wait", 30)
                await until(lambda: state() == "consuming", "consuming again")

        events = await stored(url)
        notifications = await fetch(url, "SELECT case_id FROM notifications")
    assert len(events) == len(set(events)) == BEFORE + DURING
    per_case = Counter(row["case_id"] for row in notifications)
    assert len(per_case) == BEFORE + DURING and set(per_case.values()) == {1}
    assert await broker.dead_letters() == []
