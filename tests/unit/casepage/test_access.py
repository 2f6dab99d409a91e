"""When a link stops opening its case: 30 days after a final status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from groundcontrol.casepage.access import closed_at, link_alive
from groundcontrol.domain import CaseState, Priority
from groundcontrol.planning.journeys import Journeys, Rule

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


JOURNEYS = Journeys(
    rules={
        "received": Rule("received", "case_received"),
        "resolved": Rule("resolved", "case_resolved", final=True),
    }
)


def case(status: str) -> CaseState:
    return CaseState("C-1", "cust-1", status, None, T0, None, Priority.NORMAL, {})


def test_an_open_case_has_no_close_and_its_link_lives() -> None:
    assert closed_at(case("received"), JOURNEYS) is None
    assert closed_at(case("no rule at all"), JOURNEYS) is None
    assert link_alive(None, T0 + timedelta(days=3650))


def test_a_final_status_closes_the_case_when_it_happened() -> None:
    assert closed_at(case("resolved"), JOURNEYS) == T0


def test_the_link_lives_for_30_days_after_the_close() -> None:
    assert link_alive(T0, T0 + timedelta(days=30) - timedelta(microseconds=1))
    assert not link_alive(T0, T0 + timedelta(days=30))
