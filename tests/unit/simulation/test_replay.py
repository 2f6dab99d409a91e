"""The replay on the memory store, measured and reported: unit tests of the runner,
the measures, the summary and the reports, without sockets."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from groundcontrol.domain import Event
from groundcontrol.planning.journeys import Journeys, parse_journeys
from groundcontrol.settings import QuietHoursSettings, Settings, TemplateSettings
from groundcontrol.simulation.channels import ChannelModel
from groundcontrol.simulation.events_file import event_line, parse_lines
from groundcontrol.simulation.report_html import html_report
from groundcontrol.simulation.report_text import compare_report, json_report, text_report
from groundcontrol.simulation.runner import Scenario, replay
from groundcontrol.simulation.summary import Summary, summarise
from groundcontrol.simulation.synthetic import Shape, generate

REPO = Path(__file__).resolve().parents[3]
START = datetime(2026, 11, 23, 9, tzinfo=UTC)  # a Monday, 10:00 in Amsterdam
TODAY = """
[defaults]
promise = "24h"

[[rules]]
status = "received"
template = "case_received"

[[rules]]
status = "resolved"
template = "case_resolved"
final = true
"""
WITH_FOLLOW_UPS = """
[defaults]
promise = "24h"

[[rules]]
status = "received"
template = "case_received"
follow_up = { after = "20h", template = "still_working", every = "20h", max = 5 }

[[rules]]
status = "resolved"
template = "case_resolved"
final = true
"""


def journeys(text: str) -> Journeys:
    import tomllib

    return parse_journeys(tomllib.loads(textwrap.dedent(text)))


def settings(**quiet: Any) -> Settings:
    return Settings(
        templates=TemplateSettings(dir=REPO / "templates"),
        quiet_hours=QuietHoursSettings(**quiet),
    )


def event(hours: float, case_id: str, status: str, **customer: Any) -> dict[str, Any]:
    who = {"id": f"cust-{case_id}", "email": f"{case_id}@example.com", "channels": ["email"]}
    return {
        "id": f"{case_id}-{status}",
        "case_id": case_id,
        "status": status,
        "occurred_at": (START + timedelta(hours=hours)).isoformat(),
        "customer": who | customer,
    }


def history(*bodies: dict[str, Any]) -> tuple[Event, ...]:
    return parse_lines([event_line(b) for b in bodies], "test", strict=True).events


async def run(events: tuple[Event, ...], text: str = TODAY, **options: Any) -> Summary:
    scenario = Scenario(journeys(text), options.pop("settings", settings()), **options)
    return summarise(await replay(events, scenario), "journeys")


async def test_a_case_left_alone_for_three_days_breaches_its_promise_once() -> None:
    events = history(event(0, "A", "received"), event(72, "A", "resolved"))

    summary = await run(events)

    assert summary.overall.messages.max == 2
    assert summary.by_status["received"].dark_seconds.max == 72 * 3600
    assert summary.by_status["received"].breaches == 1
    assert summary.by_status["resolved"].dark_seconds.max == 0, "a final status is not dark"


async def test_follow_ups_keep_the_promise_the_bare_journey_breaks() -> None:
    events = history(event(0, "A", "received"), event(72, "A", "resolved"))

    summary = await run(events, WITH_FOLLOW_UPS, settings=settings(enabled=False))

    received = summary.by_status["received"]
    assert received.follow_ups == 3
    assert received.breaches == 0
    assert received.dark_seconds.max == 20 * 3600


async def test_quiet_hours_defer_and_are_counted_in_the_customers_zone() -> None:
    # Received at 13:00 UTC, 22:00 in Tokyo: the message waits until 08:00 there (23:00
    # UTC, 10 h dark); then nothing until "resolved" at 15:00 UTC the next day (16 h).
    tokyo = {"timezone": "Asia/Tokyo"}
    events = history(event(4, "T", "received", **tokyo), event(30, "T", "resolved", **tokyo))

    summary = await run(events)

    assert summary.by_status["received"].quiet_deferrals == 1
    assert summary.by_status["received"].dark_seconds.max == 16 * 3600


async def test_an_unknown_status_is_counted_as_the_service_counts_it() -> None:
    events = history(event(0, "A", "received"), event(1, "A", "escalated"))

    summary = await run(events)

    assert summary.events == {"no_rule": 1, "planned": 1}
    assert summary.by_status["escalated"].messages.max == 0


async def test_a_failing_channel_falls_back_along_the_customers_order() -> None:
    both = {"channels": ["sms", "email"], "phone": "+31612345678"}
    events = history(event(0, "A", "received", **both), event(1, "A", "resolved", **both))
    failing = ChannelModel.parse(["sms=1.0"])
    quick = settings()
    quick = quick.model_copy(
        update={"delivery": quick.delivery.model_copy(update={"max_attempts": 2})}
    )

    summary = await run(events, channels=failing, settings=quick)

    assert summary.overall.fallbacks == 2
    assert summary.overall.messages.max == 2, "both messages went out by e-mail"


async def test_the_same_seed_gives_the_same_report() -> None:
    bodies = generate(Shape(40, 5, seed=9))
    events = parse_lines([event_line(b) for b in bodies], "synthetic", strict=True).events
    flaky = ChannelModel.parse(["sms=0.3", "email=0.2"], ["sms=0.1"], ["sms=1m"])

    first = await run(events, channels=flaky, seed=5)
    again = await run(events, channels=flaky, seed=5)

    assert json_report(first) == json_report(again)
    assert first.overall.cases == 40


async def test_compare_shows_both_runs_and_the_difference() -> None:
    events = history(event(0, "A", "received"), event(72, "A", "resolved"))
    a = await run(events, settings=settings(enabled=False))
    b = await run(events, WITH_FOLLOW_UPS, settings=settings(enabled=False))

    text = compare_report(a, b)
    body = json.loads(json_report(a, b))

    assert "promise breaches" in text
    assert body["difference"]["all cases"]["follow-ups sent"] == 3
    assert body["difference"]["all cases"]["promise breaches"] == -1
    assert body["a"]["overall"]["breaches"] == 1
    assert "B - A" in text


async def test_nothing_to_replay_is_refused() -> None:
    with pytest.raises(ValueError, match="no events"):
        await replay((), Scenario(journeys(TODAY), settings()))


async def test_the_html_report_draws_its_charts_without_script() -> None:
    events = history(event(0, "A", "received"), event(72, "A", "resolved"))
    a = await run(events)

    page = html_report(a, a)

    assert page.count("<svg") == 3
    assert "<script" not in page
    assert 'lang="en"' in page
    assert "Dark time per case" in page
    assert "all cases" in text_report(a)
