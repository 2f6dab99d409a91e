"""Journey rules: parsing, durations, follow-up cadence and readable errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from groundcontrol.domain import Priority
from groundcontrol.errors import ConfigError
from groundcontrol.planning.journeys import FollowUp, load_journeys, parse_journeys

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
BUNDLED = Path(__file__).resolve().parents[3] / "config" / "journeys.toml"


def test_a_rule_with_a_follow_up_parses_to_values() -> None:
    journeys = parse_journeys(
        {
            "rules": [
                {
                    "status": "received",
                    "template": "case_received",
                    "priority": "high",
                    "coalesce": "30s",
                    "follow_up": {
                        "after": "48h",
                        "template": "still_working",
                        "every": "3d",
                        "max": 3,
                    },
                }
            ]
        }
    )
    rule = journeys.rule_for("received")
    assert rule is not None
    assert (rule.template, rule.priority, rule.coalesce) == (
        "case_received",
        Priority.HIGH,
        timedelta(seconds=30),
    )
    assert rule.follow_up == FollowUp(
        after=timedelta(hours=48), template="still_working", every=timedelta(days=3), max=3
    )
    assert journeys.templates() == {"case_received", "still_working"}
    assert journeys.rule_for("resolved") is None


def test_defaults_are_normal_priority_and_no_follow_up() -> None:
    rule = parse_journeys({"rules": [{"status": "s", "template": "t"}]}).rule_for("s")
    assert rule is not None
    assert (rule.priority, rule.follow_up, rule.coalesce) == (Priority.NORMAL, None, None)


def test_follow_up_cadence() -> None:
    follow = FollowUp(after=timedelta(hours=1), template="t", every=timedelta(hours=2), max=2)
    assert follow.first_due(T0) == T0 + timedelta(hours=1)
    assert follow.next_due(1, T0) == T0 + timedelta(hours=2)
    assert follow.next_due(2, T0) is None
    assert FollowUp(after=timedelta(hours=1), template="t").next_due(0, T0) is None


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"status": "s", "template": "t", "priority": "asap"}, "rules.0.priority"),
        ({"status": "s", "template": "t", "coalesce": "soon"}, "rules.0.coalesce"),
        ({"status": "s", "template": "t", "colour": "red"}, "rules.0.colour"),
        ({"status": "", "template": "t"}, "rules.0.status"),
        ({"template": "t"}, "rules.0.status"),
        (
            {"status": "s", "template": "t", "follow_up": {"after": "2 weeks", "template": "f"}},
            "rules.0.follow_up.after",
        ),
        (
            {
                "status": "s",
                "template": "t",
                "follow_up": {"after": "1h", "template": "f", "max": 0},
            },
            "rules.0.follow_up.max",
        ),
    ],
)
def test_errors_name_the_key(rule: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=rf"^my\.toml: .*{named}"):
        parse_journeys({"rules": [rule]}, origin="my.toml")


def test_a_bad_duration_says_how_to_write_one() -> None:
    with pytest.raises(ConfigError, match=r"e\.g\. 30s, 15m, 48h, 3d"):
        parse_journeys({"rules": [{"status": "s", "template": "t", "coalesce": "5 min"}]})


def test_a_status_with_two_rules_is_refused() -> None:
    rules = [{"status": "received", "template": "a"}, {"status": "received", "template": "b"}]
    with pytest.raises(ConfigError, match="status 'received' has two rules"):
        parse_journeys({"rules": rules})


def test_the_bundled_journeys_load() -> None:
    journeys = load_journeys(BUNDLED)
    assert journeys.rule_for("received") is not None


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_journeys(tmp_path / "journeys.toml")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "journeys.toml"
    path.write_text("[[rules]\nstatus = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=str(path)):
        load_journeys(path)


def test_promise_and_final_parse_per_rule_with_a_default() -> None:
    journeys = parse_journeys(
        {
            "defaults": {"promise": "72h"},
            "rules": [
                {"status": "received", "template": "case_received", "promise": "24h"},
                {"status": "resolved", "template": "case_resolved", "final": True},
            ],
        }
    )
    received, resolved = journeys.rule_for("received"), journeys.rule_for("resolved")
    assert received is not None and resolved is not None
    assert (received.promise, received.final) == (timedelta(hours=24), False)
    assert (resolved.promise, resolved.final) == (None, True)
    assert journeys.default_promise == timedelta(hours=72)


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"defaults": {"promise": "0s"}}, "defaults.promise"),
        ({"defaults": {"promise": "soon"}}, "defaults.promise"),
        ({"defaults": {"promis": "3d"}}, "defaults.promis"),
        ({"rules": [{"status": "a", "template": "t", "promise": "-1h"}]}, "rules.0.promise"),
        ({"rules": [{"status": "a", "template": "t", "final": "yes please"}]}, "rules.0.final"),
    ],
)
def test_a_bad_promise_or_final_is_a_config_error_naming_the_key(
    data: dict[str, object], names: str
) -> None:
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        parse_journeys(data)
