"""`[[subscriptions]]`: the transport comes from the URL scheme, each transport's keys
are checked, and dead letters cannot land where they would be consumed again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from groundcontrol.errors import ConfigError
from groundcontrol.settings import load_settings
from groundcontrol.settings.subscriptions import (
    AmqpSubscription,
    NatsSubscription,
    RedisSubscription,
    subject_matches,
)

TOML = """
[sources.crm]
token = "t"

[[subscriptions]]
name = "crm-amqp"
source = "crm"
url = "amqp://guest:guest@127.0.0.1:5672/"
queue = "case-status"

[[subscriptions]]
name = "crm-nats"
source = "crm"
url = "nats://127.0.0.1:4222"
stream = "CASES"
subject = "cases.status.>"
durable = "groundcontrol"

[[subscriptions]]
name = "erp-redis"
source = "crm"
url = "redis://127.0.0.1:6379/0"
stream = "case-status"
group = "groundcontrol"
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("GC_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "groundcontrol.toml"
    path.write_text(text)
    return load_settings(path)


def test_the_design_example_loads_one_transport_per_url_scheme(tmp_path: Path) -> None:
    amqp, nats, redis = load(tmp_path, TOML).subscriptions

    assert isinstance(amqp, AmqpSubscription) and amqp.dead_letter_queue() == "case-status.dead"
    assert isinstance(nats, NatsSubscription) and nats.dead_letter_subject() == "cases.dead"
    assert isinstance(redis, RedisSubscription)
    assert redis.dead_letter_stream() == "case-status.dead"
    assert "guest:guest" not in repr(amqp)  # the URL may carry a password


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('url = "kafka://127.0.0.1:9092"\nqueue = "q"', "url must start with amqp://"),
        ('url = "amqp://127.0.0.1/"', "queue"),
        ('url = "amqp://127.0.0.1/"\nqueue = "q"\nstream = "s"', "stream"),
        ('url = "redis://127.0.0.1/"\nstream = "s"', "group"),
        (
            'url = "nats://127.0.0.1"\nstream = "S"\nsubject = "cases.>"\ndurable = "d"',
            "would be consumed again",
        ),
        ('url = "amqp://127.0.0.1/"\nqueue = "q"\nreconnect_max = "soon"', "invalid duration"),
    ],
)
def test_a_bad_subscription_is_a_config_error_naming_the_key(
    tmp_path: Path, entry: str, message: str
) -> None:
    text = f'[sources.crm]\n[[subscriptions]]\nname = "s"\nsource = "crm"\n{entry}\n'
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, text)


def test_a_subscription_counts_as_a_configured_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="source 'erp' is not one of"):
        load(
            tmp_path,
            TOML.replace('name = "erp-redis"\nsource = "crm"', 'name = "x"\nsource = "erp"'),
        )


def test_subscription_names_are_unique(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="each name may appear once"):
        load(tmp_path, TOML.replace('"crm-nats"', '"crm-amqp"'))


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("cases.status.>", "cases.status.changed", True),
        ("cases.status.>", "cases.status.a.b", True),
        ("cases.status.>", "cases.status", False),
        ("cases.status.>", "cases.dead", False),
        ("cases.*.x", "cases.status.x", True),
        ("cases.*.x", "cases.status.y", False),
        ("cases.>", "cases.dead", True),
        ("cases", "cases", True),
    ],
)
def test_nats_subject_matching(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches
