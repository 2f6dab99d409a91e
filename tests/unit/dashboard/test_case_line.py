"""The case line: dark stretches between contacts, the part past a broken promise drawn
apart, the promise marked, every text escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from groundcontrol.dashboard.case_line import dark_stretches, draw
from groundcontrol.planning.golden_thread import Thread
from groundcontrol.store.case_views import CaseView
from groundcontrol.store.contract import TimelineEntry

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def entry(hours: float, kind: str, **detail: Any) -> TimelineEntry:
    return TimelineEntry(T0 + hours * H, kind, "C-<1>", None, detail)


def case(dark_since: datetime, *, open_: bool = True) -> CaseView:
    thread = Thread(open=open_, opened_at=T0, dark_since=dark_since, promise=10 * H)
    return CaseView("C-<1>", "cust", "received", "crm", thread)


ENTRIES = [
    entry(0, "event", status="received"),
    entry(1, "sent"),
    entry(13, "promise_breached", deadline=(T0 + 11 * H).isoformat()),
    entry(20, "viewed"),
]


def test_stretches_run_from_the_first_event_to_each_contact_and_on_to_now() -> None:
    stretches = dark_stretches(ENTRIES, case(T0 + 20 * H), T0 + 25 * H)
    assert [(s.start, s.end) for s in stretches] == [
        (T0, T0 + H),
        (T0 + H, T0 + 20 * H),
        (T0 + 20 * H, T0 + 25 * H),
    ]
    assert [s.broke_at for s in stretches] == [None, T0 + 11 * H, None]


def test_a_closed_case_has_no_stretch_after_its_last_contact() -> None:
    stretches = dark_stretches(ENTRIES, case(T0 + 20 * H, open_=False), T0 + 25 * H)
    assert len(stretches) == 2


def test_the_svg_marks_contacts_the_breach_and_the_promise() -> None:
    svg = draw(ENTRIES, case(T0 + 20 * H), T0 + 25 * H)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="contact"') == 2
    assert svg.count('class="dark breached"') == 1
    assert svg.count('class="breach"') == 1
    assert 'class="promise"' in svg  # the current stretch's deadline, 30 h
    assert "C-&lt;1&gt;" in svg and "C-<1>" not in svg
