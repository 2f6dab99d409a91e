from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from groundcontrol.simulation.events_file import event_line, parse_lines
from groundcontrol.simulation.synthetic import CLOSES, OPENS, Shape, generate

OFFICE = ZoneInfo("Europe/Amsterdam")


def test_the_same_seed_makes_the_same_history_line_for_line() -> None:
    first = [event_line(b) for b in generate(Shape(200, 14, seed=3))]
    again = [event_line(b) for b in generate(Shape(200, 14, seed=3))]
    other = [event_line(b) for b in generate(Shape(200, 14, seed=4))]

    assert first == again
    assert first != other


def test_every_synthetic_event_is_valid_ingest_input_in_order() -> None:
    lines = [event_line(b) for b in generate(Shape(300, 28, seed=1))]

    history = parse_lines(lines, "synthetic", strict=True)

    assert len(history.events) == len(lines)
    assert not history.reordered
    assert len({e.case_id for e in history.events}) == 300


def test_the_back_office_is_varied_like_a_real_one() -> None:
    bodies = generate(Shape(1000, 28, seed=1))
    customers = [b["customer"] for b in bodies if b["status"] == "received"]

    assert len({c["timezone"] for c in customers}) >= 5
    assert len({c["locale"] for c in customers}) >= 5
    assert len({tuple(c["channels"]) for c in customers}) >= 5
    unreachable = [c for c in customers if "phone" not in c and "example.com" not in str(c)]
    assert 10 <= len(unreachable) <= 100
    statuses = Counter(b["status"] for b in bodies)
    assert {"received", "in_progress", "waiting_on_customer", "resolved", "escalated"} <= set(
        statuses
    )
    assert statuses["resolved"] < statuses["received"], "some cases stall or are still open"


def test_the_back_office_works_weekdays_in_office_hours() -> None:
    worked = [b for b in generate(Shape(300, 28, seed=2)) if b["status"] != "received"]

    for body in worked:
        local = datetime.fromisoformat(body["occurred_at"]).astimezone(OFFICE)
        assert local.weekday() < 5, body
        assert OPENS <= local.time() <= CLOSES.replace(hour=CLOSES.hour + 2), body
