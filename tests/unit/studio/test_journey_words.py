"""The journeys file read out in plain words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from groundcontrol.planning.journeys import parse_journeys
from groundcontrol.studio.journey_words import (
    NOT_SENT,
    Use,
    duration,
    journey_order,
    title,
    uses,
    when_sent,
)

JOURNEYS = parse_journeys(
    {
        "rules": [
            {
                "status": "received",
                "template": "case_received",
                "follow_up": {
                    "after": "48h",
                    "template": "still_working",
                    "every": "72h",
                    "max": 3,
                },
            },
            {
                "status": "in_progress",
                "template": "case_in_progress",
                "coalesce": "30s",
                "follow_up": {
                    "after": "72h",
                    "template": "still_working",
                    "every": "72h",
                    "max": 3,
                },
            },
            {
                "status": "waiting_on_customer",
                "template": "waiting",
                "priority": "high",
                "follow_up": {"after": "24h", "template": "waiting"},
            },
        ]
    }
)


def test_a_message_is_named_in_words() -> None:
    assert title("case_received") == "Case received"
    assert title("still-working") == "Still working"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(30, "30 s"), (900, "15 min"), (5400, "1 h 30 min"), (172800, "48 h"), (259200, "72 h")],
)
def test_durations_read_as_a_planner_says_them(seconds: int, words: str) -> None:
    assert duration(timedelta(seconds=seconds)) == words


def test_seven_days_are_days() -> None:
    assert duration(timedelta(days=7)) == "7 days"


def test_a_status_message_says_when_it_goes_out() -> None:
    assert when_sent(JOURNEYS, "case_received") == ["When a case becomes received"]
    assert when_sent(JOURNEYS, "case_in_progress") == [
        "When a case becomes in progress; changes within 30 s make one message"
    ]


def test_a_follow_up_says_its_cadence_for_each_status_that_uses_it() -> None:
    assert uses(JOURNEYS, "still_working") == [
        Use(
            "received",
            True,
            "While a case stays received: after 48 h of silence, then every 72 h, at most 3 times",
        ),
        Use(
            "in_progress",
            True,
            "While a case stays in progress: after 72 h of silence, then every 72 h,"
            " at most 3 times",
        ),
    ]


def test_a_message_that_is_its_own_follow_up_says_both() -> None:
    assert when_sent(JOURNEYS, "waiting") == [
        "When a case becomes waiting on customer (high priority); again after 24 h of silence, once"
    ]


def test_a_message_no_rule_sends_says_so() -> None:
    assert when_sent(JOURNEYS, "old_promo") == [NOT_SENT]


def test_messages_are_listed_in_journey_order_then_by_name() -> None:
    names = ["zeta", "still_working", "case_in_progress", "case_received", "alpha"]
    assert journey_order(JOURNEYS, names) == [
        "case_received",
        "still_working",
        "case_in_progress",
        "alpha",
        "zeta",
    ]
