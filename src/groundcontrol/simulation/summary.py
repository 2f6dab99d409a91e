"""Per-case figures summed up, per status and overall: what a journey owner reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from groundcontrol.planning.golden_thread import rank
from groundcontrol.simulation.measures import CaseFigures, StatusFigures
from groundcontrol.simulation.runner import Replay


@dataclass(frozen=True)
class Spread:
    """A distribution in four numbers (nearest-rank percentiles)."""

    mean: float
    p50: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(0.0, 0.0, 0.0, 0.0)
        ordered = sorted(values)
        count = len(ordered)
        return cls(
            mean=sum(ordered) / count,
            p50=ordered[rank(count, 0.5)],
            p95=ordered[rank(count, 0.95)],
            max=ordered[-1],
        )


@dataclass(frozen=True)
class Row:
    """One line of the report: a status, or every case."""

    cases: int
    messages: Spread  # per case
    dark_seconds: Spread  # per case: the longest it left its customer in the dark
    breaches: int
    quiet_deferrals: int
    cap_holds: int
    follow_ups: int
    fallbacks: int
    unreachable: int

    @classmethod
    def of(cls, figures: Sequence[StatusFigures]) -> Row:
        def total(pick: Callable[[StatusFigures], int]) -> int:
            return sum(pick(f) for f in figures)

        return cls(
            cases=len(figures),
            messages=Spread.of([f.messages for f in figures]),
            dark_seconds=Spread.of([f.dark_seconds for f in figures]),
            breaches=total(lambda f: f.breaches),
            quiet_deferrals=total(lambda f: f.quiet_deferrals),
            cap_holds=total(lambda f: f.cap_holds),
            follow_ups=total(lambda f: f.follow_ups),
            fallbacks=total(lambda f: f.fallbacks),
            unreachable=total(lambda f: f.unreachable),
        )


@dataclass(frozen=True)
class Summary:
    label: str  # the journeys file it was run with
    start: datetime
    end: datetime
    events: dict[str, int]  # how each event was taken: planned, no_rule, duplicate, ...
    overall: Row
    by_status: dict[str, Row]
    # Per case, for the charts: the longest dark stretch and the messages sent.
    dark_seconds: tuple[float, ...] = field(repr=False)
    messages: tuple[int, ...] = field(repr=False)

    def public_dict(self) -> dict[str, Any]:
        return {
            "journeys": self.label,
            "window": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "events": dict(self.events),
            "overall": asdict(self.overall),
            "by_status": {status: asdict(row) for status, row in self.by_status.items()},
        }


def summarise(replay: Replay, label: str) -> Summary:
    cases = sorted(replay.cases, key=lambda c: c.case_id)
    totals = [case.total() for case in cases]
    return Summary(
        label=label,
        start=replay.start,
        end=replay.end,
        events=dict(sorted(replay.ingest.items())),
        overall=Row.of(totals),
        by_status={status: Row.of(f) for status, f in _by_status(cases).items()},
        dark_seconds=tuple(t.dark_seconds for t in totals),
        messages=tuple(t.messages for t in totals),
    )


def _by_status(cases: Sequence[CaseFigures]) -> dict[str, list[StatusFigures]]:
    grouped: dict[str, list[StatusFigures]] = {}
    for case in cases:
        for status, figures in case.by_status.items():
            grouped.setdefault(status, []).append(figures)
    return dict(sorted(grouped.items()))
