"""Subscriptions against the real brokers (RabbitMQ, NATS JetStream, Redis), each
test once per broker: messages published with the broker's own client library end up
as exactly one event each, and every bad one in the dead letter with its problem."""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
import threading
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.integration.api_harness import Api, event, serve, settings_for
from tests.peers.brokers import AMQP_PORT, TRANSPORTS, BrokerPeer, peer_for
from tests.peers.tcp_proxy import TcpProxy

from groundcontrol import keys
from groundcontrol.settings.subscriptions import AmqpSubscription
from groundcontrol.subscriptions.amqp import AmqpTransport
from groundcontrol.subscriptions.base import BrokerError

NAME = "crm-broker"
CE_JSON = "application/cloudevents+json"


@pytest.fixture(params=TRANSPORTS)
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[BrokerPeer]:
    async with peer_for(request.param) as peer:
        yield peer


@asynccontextmanager
async def consuming(
    tmp_path: Path, broker: BrokerPeer, port: int | None = None
) -> AsyncIterator[Api]:
    """The app with one subscription on `broker` (through `port` when given)."""
    subscription = broker.subscription(NAME, source="crm", port=port)
    subscription |= {"reconnect_initial": "100ms", "reconnect_max": "500ms", "prefetch": 50}
    async with serve(settings_for(tmp_path, subscriptions=[subscription])) as api:
        yield api


def case_event(number: int, **changes: Any) -> dict[str, Any]:
    """Event `number` of its own case and customer."""
    customer = event()["customer"] | {"id": f"cust-{number}"}
    return event(id=f"evt-{number}", case_id=f"C-{number}", customer=customer) | changes


def envelope(body: dict[str, Any]) -> dict[str, Any]:
    data = {key: value for key, value in body.items() if key != "id"}
    return {"specversion": "1.0", "id": body["id"], "source": "crm", "type": "case", "data": data}


def binary_attributes(event_id: str) -> dict[str, str]:
    return {"specversion": "1.0", "id": event_id, "source": "crm", "type": "case.status"}


def dump(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def consumed(api: Api) -> float:
    return _sample(api, "groundcontrol_subscription_consumed_total")


def duplicates(api: Api) -> float:
    return _sample(api, "groundcontrol_subscription_duplicates_total")


def _sample(api: Api, metric: str, **labels: str) -> float:
    registry = api.app[keys.METRICS].registry
    return registry.get_sample_value(metric, {"subscription": NAME, **labels}) or 0.0


def stored_events(tmp_path: Path) -> list[str]:
    return [row[0] for row in _rows(tmp_path, "SELECT event_id FROM events")]


def notifications_per_case(tmp_path: Path) -> Counter[str]:
    return Counter(row[0] for row in _rows(tmp_path, "SELECT case_id FROM notifications"))


def _rows(tmp_path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "groundcontrol.db") as connection:
        return connection.execute(query).fetchall()


async def until(check: Callable[[], bool | Awaitable[bool]], what: str, within: float = 20) -> None:
    async with asyncio.timeout(within):
        while True:
            answer = check()
            if answer if isinstance(answer, bool) else await answer:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(what)  # pragma: no cover - the timeout raises first


def assert_exactly_once(tmp_path: Path, count: int) -> None:
    events = stored_events(tmp_path)
    assert len(events) == len(set(events)) == count
    per_case = notifications_per_case(tmp_path)
    assert len(per_case) == count and set(per_case.values()) == {1}, per_case


# --- bodies ---------------------------------------------------------------------------


async def test_plain_structured_and_binary_bodies_each_become_one_event(
    tmp_path: Path, broker: BrokerPeer
) -> None:
    await broker.publish(dump(case_event(1)))
    await broker.publish(dump(envelope(case_event(2))))  # structured, told by `specversion`
    expected = {"evt-1", "evt-2"}
    if broker.transport != "redis":  # a Redis entry has no headers: no binary mode
        await broker.publish(dump(envelope(case_event(3))), content_type=CE_JSON)
        binary = {k: v for k, v in case_event(4).items() if k != "id"}
        await broker.publish(
            dump(binary), content_type="application/json", attributes=binary_attributes("evt-4")
        )
        expected |= {"evt-3", "evt-4"}

    async with consuming(tmp_path, broker) as api:
        await until(lambda: consumed(api) == len(expected), "every message consumed")

    assert set(stored_events(tmp_path)) == expected
    assert_exactly_once(tmp_path, len(expected))
    assert await broker.dead_letters() == []


async def test_a_redelivered_or_republished_event_is_a_duplicate_not_a_second_message(
    tmp_path: Path, broker: BrokerPeer
) -> None:
    body = case_event(1)
    for _ in range(3):
        await broker.publish(dump(body))
    await broker.publish(dump(envelope(body)))  # the same event, republished as a CloudEvent

    async with consuming(tmp_path, broker) as api:
        await until(lambda: consumed(api) == 4, "every message consumed")
        assert duplicates(api) == 3

    assert_exactly_once(tmp_path, 1)
    assert await broker.dead_letters() == []


# --- the dead letter ------------------------------------------------------------------


def garbage(transport: str) -> list[tuple[bytes, dict[str, Any], int, str]]:
    """(body, publish options, problem status, reason label) of unprocessable messages."""
    no_status = {k: v for k, v in case_event(11).items() if k != "status"}
    unknown_customer = case_event(12, customer={"id": "nobody"})
    conflicting = case_event(1, status="closed")  # evt-1 again, another body
    bad: list[tuple[bytes, dict[str, Any], int, str]] = [
        (b"{not json", {}, 400, "malformed"),
        (b"", {}, 400, "malformed"),
        (dump(no_status), {}, 422, "invalid"),
        (dump(envelope(case_event(13)) | {"specversion": "0.3"}), {}, 422, "invalid"),
        (dump(unknown_customer), {}, 422, "unknown_customer"),
        (dump(conflicting), {}, 409, "conflict"),
    ]
    if transport != "redis":
        bad += [
            (dump(case_event(14)), {"content_type": "text/plain"}, 415, "unsupported_media_type"),
            (dump(case_event(15)), {"attributes": {"specversion": "1.0"}}, 422, "invalid"),
        ]
    return bad


async def test_unprocessable_messages_go_to_the_dead_letter_with_a_problem_and_block_nothing(
    tmp_path: Path, broker: BrokerPeer
) -> None:
    bad = garbage(broker.transport)
    await broker.publish(dump(case_event(1)))
    for body, options, _, _ in bad:
        await broker.publish(body, **options)
    await broker.publish(dump(case_event(2)))  # behind the garbage: still consumed

    async with consuming(tmp_path, broker) as api:
        await until(lambda: consumed(api) == len(bad) + 2, "every message consumed")
        reasons = Counter(reason for *_, reason in bad)
        for reason, count in reasons.items():
            metric = "groundcontrol_subscription_dead_lettered_total"
            assert _sample(api, metric, reason=reason) == count, reason

    assert_exactly_once(tmp_path, 2)
    letters = await broker.dead_letters()
    assert [letter.body for letter in letters] == [body for body, *_ in bad]
    for letter, (_, _, status, _) in zip(letters, bad, strict=True):
        problem = letter.problem
        assert problem["status"] == status, problem
        assert problem["title"] and problem["type"]
        assert problem["subscription"] == NAME and problem["source"] == "crm"
    invalid = letters[2].problem
    assert {error["field"] for error in invalid["errors"]} == {"status"}


POISON_TRIGGER = """
CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.case_id LIKE 'POISON%'
BEGIN SELECT RAISE(ABORT, 'poison event'); END
"""


async def test_an_event_the_store_refuses_is_dead_lettered_alone_and_its_batch_commits(
    tmp_path: Path, broker: BrokerPeer
) -> None:
    # A failure no input rule foresaw: a trigger in the store refuses POISON-* cases.
    async with serve(settings_for(tmp_path)):
        pass  # creates the database and its tables
    with sqlite3.connect(tmp_path / "groundcontrol.db") as connection:
        connection.execute(POISON_TRIGGER)
    poison = case_event(6, case_id="POISON-6")
    for number in range(1, 11):  # one batch (prefetch 50): the poison in the middle
        await broker.publish(dump(poison if number == 6 else case_event(number)))

    async with consuming(tmp_path, broker) as api:
        await until(lambda: len(stored_events(tmp_path)) == 9, "the valid events stored")
        await until(lambda: consumed(api) == 10, "the whole batch acknowledged")
        metric = "groundcontrol_subscription_dead_lettered_total"
        assert _sample(api, metric, reason="not_stored") == 1
        assert duplicates(api) == 0  # never redelivered

    assert sorted(stored_events(tmp_path)) == sorted(f"evt-{n}" for n in range(1, 11) if n != 6)
    [letter] = await broker.dead_letters()
    assert letter.body == dump(poison)
    problem = letter.problem
    assert (problem["status"], problem["type"]) == (500, "urn:groundcontrol:problem:not-stored")
    assert "poison event" in problem["detail"]
    assert problem["subscription"] == NAME


# --- connection loss and stopping -----------------------------------------------------

STREAM = 300


async def publish_stream(broker: BrokerPeer, count: int = STREAM) -> None:
    """`count` events, in bursts, while the service consumes."""
    for number in range(count):
        await broker.publish(dump(case_event(number)))
        if number % 25 == 24:
            await asyncio.sleep(0.02)


async def test_a_dropped_connection_mid_stream_reconnects_and_loses_nothing(
    tmp_path: Path, broker: BrokerPeer
) -> None:
    async with TcpProxy(broker.port) as proxy, consuming(tmp_path, broker, proxy.port) as api:
        publishing = asyncio.create_task(publish_stream(broker))
        await until(lambda: consumed(api) >= 50, "consuming through the proxy")
        await proxy.cut()
        await until(lambda: _state(api) == "reconnecting", "the loss noticed")
        ready = await (await api.client.get("/readyz")).json()
        assert ready["status"] == "ready"  # the webhook still takes events
        assert ready["subscriptions"][NAME]["last_error"]
        await asyncio.sleep(0.5)
        proxy.restore()
        await publishing
        await until(lambda: _state(api) == "consuming", "reconnected")
        await until(lambda: len(stored_events(tmp_path)) == STREAM, "every event stored", 40)

    assert_exactly_once(tmp_path, STREAM)


def _state(api: Api) -> str:
    return str(api.app[keys.SUBSCRIPTIONS].status()[NAME]["state"])


async def test_stopping_commits_what_is_in_hand_and_leaves_the_rest_for_redelivery(
    tmp_path: Path, broker: BrokerPeer
) -> None:
    await publish_stream(broker)
    async with consuming(tmp_path, broker) as api:
        await until(lambda: consumed(api) >= 50, "consuming")
    first_run = len(stored_events(tmp_path))
    assert first_run < STREAM, "stopped too late to prove anything"

    async with consuming(tmp_path, broker) as api:
        await until(lambda: len(stored_events(tmp_path)) == STREAM, "the rest consumed", 40)
        # Everything committed before the stop was acknowledged: nothing came twice.
        assert duplicates(api) == 0

    assert_exactly_once(tmp_path, STREAM)


async def test_readyz_lists_each_subscription_with_its_state_and_lag(
    tmp_path: Path, broker: BrokerPeer
) -> None:
    async with consuming(tmp_path, broker) as api:
        await until(lambda: _state(api) == "consuming", "connected")
        await until(lambda: api.app[keys.SUBSCRIPTIONS].status()[NAME]["lag"] is not None, "lag")
        response = await api.client.get("/readyz")
        body = await response.json()
        metrics = await (await api.client.get("/metrics")).text()

    assert response.status == 200
    assert body["subscriptions"] == {
        NAME: {
            "state": "consuming",
            "transport": broker.transport,
            "source": "crm",
            "lag": 0,
            "last_error": None,
        }
    }
    assert f'groundcontrol_subscription_connected{{subscription="{NAME}"}} 1.0' in metrics
    assert f'groundcontrol_subscription_lag{{subscription="{NAME}"}} 0.0' in metrics


async def test_a_failed_amqp_connect_is_closed_not_left_to_the_collector() -> None:
    # aio-pika drops a connection whose connect failed without closing it; its
    # `__del__` then makes a `close()` coroutine that, when the collector runs in a
    # thread with no loop (the writer's, the renderer's), is never awaited.
    async with TcpProxy(AMQP_PORT) as proxy:
        await proxy.cut()  # accepted, then reset: the handshake fails
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
        settings = {"name": NAME, "source": "crm", "url": url, "queue": "q"}
        transport = AmqpTransport(AmqpSubscription.model_validate(settings))
        with pytest.raises(BrokerError):
            await transport.connect()
        await transport.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        collector = threading.Thread(target=gc.collect)
        collector.start()
        collector.join()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
