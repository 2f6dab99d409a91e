"""The report as text (a terminal) and as JSON (a script), for one run or two compared."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from groundcontrol.simulation.summary import Row, Summary


@dataclass(frozen=True)
class Measure:
    label: str
    pick: Callable[[Row], float]
    kind: str = "count"  # count | rate | seconds


MEASURES = (
    Measure("cases", lambda r: r.cases),
    Measure("messages/case mean", lambda r: r.messages.mean, "rate"),
    Measure("messages/case p95", lambda r: r.messages.p95, "rate"),
    Measure("messages/case max", lambda r: r.messages.max, "rate"),
    Measure("dark p50", lambda r: r.dark_seconds.p50, "seconds"),
    Measure("dark p95", lambda r: r.dark_seconds.p95, "seconds"),
    Measure("dark max", lambda r: r.dark_seconds.max, "seconds"),
    Measure("promise breaches", lambda r: r.breaches),
    Measure("quiet-hour deferrals", lambda r: r.quiet_deferrals),
    Measure("cap holds", lambda r: r.cap_holds),
    Measure("follow-ups sent", lambda r: r.follow_ups),
    Measure("fallbacks", lambda r: r.fallbacks),
    Measure("unreachable", lambda r: r.unreachable),
)
OVERALL = "all cases"


def human_seconds(seconds: float) -> str:
    """3725 -> "1h 2m": the two largest units, as people say a wait."""
    sign, rest = ("-" if seconds < 0 else ""), round(abs(seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size or (unit == "s" and not parts):
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return sign + " ".join(parts[:2])


def show(value: float, kind: str, *, signed: bool = False) -> str:
    if kind == "seconds":
        text = human_seconds(value)
        return f"+{text}" if signed and value > 0 else text
    spec = ("+" if signed else "") + (",.2f" if kind == "rate" else ",.0f")
    return format(value, spec)


def rows(summary: Summary) -> list[tuple[str, Row]]:
    return [(OVERALL, summary.overall), *summary.by_status.items()]


def text_report(summary: Summary) -> str:
    """One column per status (and one for every case), one line per measure."""
    columns = rows(summary)
    widths = [max(len(name), 9) + 2 for name, _ in columns]
    header = "".join(f"{name:>{w}}" for (name, _), w in zip(columns, widths, strict=True))
    lines = [*_heading(summary), "", f"{'':<22}{header}"]
    for m in MEASURES:
        cells = [show(m.pick(row), m.kind) for _, row in columns]
        padded = (f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
        lines.append(f"{m.label:<22}" + "".join(padded))
    return "\n".join(lines) + "\n"


def _heading(summary: Summary) -> list[str]:
    days = (summary.end - summary.start).total_seconds() / 86400
    events = ", ".join(f"{kind} {count:,}" for kind, count in summary.events.items())
    return [
        f"Journey simulation with {summary.label}",
        f"window: {summary.start:%Y-%m-%d %H:%M} to {summary.end:%Y-%m-%d %H:%M} UTC"
        f" ({days:.1f} days)",
        f"events: {sum(summary.events.values()):,} ({events})",
        "dark: the longest a case left its customer without a message, per case",
    ]


def compare_report(a: Summary, b: Summary) -> str:
    """Two runs on the same history side by side, with B - A."""
    lines = [f"Journey simulation: {a.label} (A) against {b.label} (B), same history"]
    lines += _heading(a)[1:3]
    b_rows = dict(rows(b))
    for name, row_a in rows(a):
        row_b = b_rows.get(name)
        lines += ["", f"{name:<24}{'A':>14}{'B':>14}{'B - A':>14}"]
        for m in MEASURES:
            lines.append(_compared(m, row_a, row_b))
    only_b = [name for name in b_rows if name not in dict(rows(a))]
    if only_b:
        lines += ["", "only under B: " + ", ".join(only_b)]
    return "\n".join(lines) + "\n"


def _compared(m: Measure, a: Row, b: Row | None) -> str:
    left = show(m.pick(a), m.kind)
    if b is None:
        return f"  {m.label:<22}{left:>14}{'-':>14}{'-':>14}"
    change = m.pick(b) - m.pick(a)
    delta = show(change, m.kind, signed=True) if change else "="
    return f"  {m.label:<22}{left:>14}{show(m.pick(b), m.kind):>14}{delta:>14}"


def json_report(summary: Summary, other: Summary | None = None) -> str:
    if other is None:
        return json.dumps(summary.public_dict(), indent=2)
    body: dict[str, Any] = {
        "a": summary.public_dict(),
        "b": other.public_dict(),
        "difference": _difference(summary, other),
    }
    return json.dumps(body, indent=2)


def _difference(a: Summary, b: Summary) -> dict[str, dict[str, float]]:
    b_rows = dict(rows(b))
    return {
        name: {m.label: m.pick(b_rows[name]) - m.pick(row) for m in MEASURES}
        for name, row in rows(a)
        if name in b_rows
    }
