"""Each subscription gets its broker's adapter; a missing client names the extra."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from groundcontrol.settings import Settings
from groundcontrol.subscriptions.amqp import AmqpTransport
from groundcontrol.subscriptions.base import MissingExtra
from groundcontrol.subscriptions.jetstream import JetStreamTransport
from groundcontrol.subscriptions.redis_streams import RedisStreamTransport
from groundcontrol.subscriptions.transports import transport_for

ENTRIES: list[dict[str, Any]] = [
    {"url": "amqps://u:p@broker/", "queue": "q"},
    {"url": "nats://broker:4222", "stream": "S", "subject": "a.b.>", "durable": "d"},
    {"url": "rediss://broker/0", "stream": "s", "group": "g"},
]


def subscriptions() -> list[Any]:
    entries = [{"name": f"s{i}", "source": "crm", **e} for i, e in enumerate(ENTRIES)]
    settings = Settings.model_validate({"sources": {"crm": {}}, "subscriptions": entries})
    return list(settings.subscriptions)


def test_the_url_scheme_picks_the_adapter() -> None:
    kinds = [type(transport_for(s)) for s in subscriptions()]

    assert kinds == [AmqpTransport, JetStreamTransport, RedisStreamTransport]


@pytest.mark.parametrize(
    ("client", "module", "extra"),
    [
        ("aio_pika", "amqp", "amqp"),
        ("nats", "jetstream", "nats"),
        ("redis", "redis_streams", "redis"),
    ],
)
def test_a_missing_client_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, client: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, client, None)  # import raises ModuleNotFoundError
    monkeypatch.delitem(sys.modules, f"groundcontrol.subscriptions.{module}")
    entry = next(s for s in subscriptions() if s.transport == extra)

    with pytest.raises(MissingExtra, match=rf"pip install 'groundcontrol\[{extra}\]'"):
        transport_for(entry)
