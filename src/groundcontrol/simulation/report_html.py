"""The report as one self-contained HTML page with server-drawn SVG charts (no script):
how long customers sat in the dark, how many messages a case got, and the table.

With a second run, every chart and table shows both, A beside B."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from groundcontrol.simulation.report_text import MEASURES, rows, show
from groundcontrol.simulation.summary import Summary

HOUR, DAY = 3600.0, 86400.0
# Dark-time bins: upper bounds in seconds (the last is open-ended).
DARK_BINS = (
    ("< 1h", HOUR),
    ("1-6h", 6 * HOUR),
    ("6-24h", DAY),
    ("1-2d", 2 * DAY),
    ("2-3d", 3 * DAY),
    ("3-5d", 5 * DAY),
    ("5-7d", 7 * DAY),
    ("1-2w", 14 * DAY),
    ("> 2w", float("inf")),
)
MESSAGE_BINS = 8  # 0, 1, ... 6, and "7+"
COLOURS = ("#1f5f99", "#b3541e")  # A, B: both 4.5:1 or better on white
WIDTH, HEIGHT, MARGIN = 640, 260, 48


@dataclass(frozen=True)
class Series:
    name: str
    counts: tuple[int, ...]


def dark_histogram(values: Sequence[float]) -> tuple[int, ...]:
    counts = [0] * len(DARK_BINS)
    for value in values:
        counts[next(i for i, (_, top) in enumerate(DARK_BINS) if value < top)] += 1
    return tuple(counts)


def message_histogram(values: Sequence[int]) -> tuple[int, ...]:
    counts = [0] * MESSAGE_BINS
    for value in values:
        counts[min(value, MESSAGE_BINS - 1)] += 1
    return tuple(counts)


def html_report(a: Summary, b: Summary | None = None) -> str:
    runs = [a] if b is None else [a, b]
    names = [f"{'AB'[i]}: {run.label}" if b else run.label for i, run in enumerate(runs)]
    dark = [Series(n, dark_histogram(r.dark_seconds)) for n, r in zip(names, runs, strict=True)]
    sent = [Series(n, message_histogram(r.messages)) for n, r in zip(names, runs, strict=True)]
    message_labels = [str(i) for i in range(MESSAGE_BINS - 1)] + [f"{MESSAGE_BINS - 1}+"]
    body = [
        f"<h1>Journey simulation</h1><p>{escape(_window(a))}</p>",
        _legend(names) if b else "",
        "<h2>How long customers sat in the dark</h2>",
        "<p>Per case, the longest time it went without a message, while open.</p>",
        bar_chart(dark, [label for label, _ in DARK_BINS], "cases", "Dark time per case"),
        "<h2>The darkest cases, by status</h2>",
        "<p>The 95th percentile of the longest dark stretch, in hours: one case in twenty "
        "in that status waited at least this long.</p>",
        _dark_by_status(runs, names),
        "<h2>Messages per case</h2>",
        bar_chart(sent, message_labels, "cases", "Messages sent per case"),
        "<h2>Figures</h2>",
        figures_table(runs),
    ]
    return _page("".join(body))


def _dark_by_status(runs: Sequence[Summary], names: Sequence[str]) -> str:
    statuses = list(runs[0].by_status)
    series = [
        Series(
            name,
            tuple(
                round(run.by_status[s].dark_seconds.p95 / HOUR) if s in run.by_status else 0
                for s in statuses
            ),
        )
        for name, run in zip(names, runs, strict=True)
    ]
    return bar_chart(series, statuses, "hours", "Dark time p95 by status")


def _window(summary: Summary) -> str:
    events = sum(summary.events.values())
    return (
        f"{events:,} events from {summary.start:%Y-%m-%d %H:%M} to "
        f"{summary.end:%Y-%m-%d %H:%M} UTC, {summary.overall.cases:,} cases."
    )


def _legend(names: Sequence[str]) -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{COLOURS[i]}"></span>{escape(n)}</li>'
        for i, n in enumerate(names)
    )
    return f'<ul class="legend">{items}</ul>'


def bar_chart(series: Sequence[Series], labels: Sequence[str], unit: str, title: str) -> str:
    """Grouped bars, one group per label; the numbers are in the SVG's text too."""
    top = max((c for s in series for c in s.counts), default=0) or 1
    group = (WIDTH - 2 * MARGIN) / len(labels)
    bar = group * 0.8 / len(series)
    shapes = [_axis()]
    for i, label in enumerate(labels):
        x0 = MARGIN + i * group + group * 0.1
        for j, s in enumerate(series):
            shapes.append(_bar(x0 + j * bar, bar, s.counts[i], top, COLOURS[j], s.name, label))
        shapes.append(_label(x0 + group * 0.4, HEIGHT - MARGIN + 16, label))
    described = f"{title}, {unit} per bin: " + "; ".join(
        f"{s.name}: " + ", ".join(f"{lab} {c}" for lab, c in zip(labels, s.counts, strict=True))
        for s in series
    )
    return (
        f'<figure><svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(described)}"><title>{escape(title)}</title>'
        + "".join(shapes)
        + f"</svg><figcaption>{escape(title)} ({escape(unit)})</figcaption></figure>"
    )


def _bar(x: float, width: float, count: int, top: int, colour: str, name: str, bin_: str) -> str:
    height = (HEIGHT - 2 * MARGIN) * count / top
    y = HEIGHT - MARGIN - height
    tip = escape(f"{name}, {bin_}: {count}")
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
        f'fill="{colour}"><title>{tip}</title></rect>'
        + _text(x + width / 2, y - 4, str(count) if count else "")
    )


def _axis() -> str:
    y = HEIGHT - MARGIN
    return f'<line x1="{MARGIN}" y1="{y}" x2="{WIDTH - MARGIN}" y2="{y}" stroke="#333"/>'


def _label(x: float, y: float, label: str) -> str:
    """A bin's label under its bars; a status like waiting_on_customer on three lines."""
    words = label.split("_")
    lines = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 12}">{escape(word)}</tspan>'
        for i, word in enumerate(words)
    )
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{lines}</text>'


def _text(x: float, y: float, text: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{escape(text)}</text>'


def figures_table(runs: Sequence[Summary]) -> str:
    """Per status and overall, every measure; with two runs, A and B side by side."""
    head = "".join(f'<th scope="col">{escape(m.label)}</th>' for m in MEASURES)
    run_col = '<th scope="col">run</th>' if len(runs) > 1 else ""
    lines = [f'<table><thead><tr><th scope="col">status</th>{run_col}{head}</tr></thead><tbody>']
    others = [dict(rows(run)) for run in runs]
    for name, _ in rows(runs[0]):
        for i, found in enumerate(others):
            row = found.get(name)
            if row is None:
                continue
            run = f"<td>{'AB'[i]}</td>" if len(runs) > 1 else ""
            cells = "".join(f"<td>{escape(show(m.pick(row), m.kind))}</td>" for m in MEASURES)
            lines.append(f'<tr><th scope="row">{escape(name)}</th>{run}{cells}</tr>')
    lines.append("</tbody></table>")
    # A wide table scrolls inside a region a keyboard can reach.
    region = '<div class="scroll" role="region" aria-label="Figures" tabindex="0">'
    return region + "".join(lines) + "</div>"


def _page(body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Journey simulation report</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; color: #1a1a1a; margin: 2rem auto;
  max-width: 72rem; padding: 0 1rem; }}
figure {{ margin: 0 0 1.5rem; }} svg {{ width: 100%; max-width: {WIDTH}px; height: auto; }}
svg text {{ font-size: 11px; fill: #1a1a1a; }}
table {{ border-collapse: collapse; font-size: 14px; }}
.scroll {{ overflow-x: auto; }}
th, td {{ border: 1px solid #bbb; padding: .25rem .5rem; text-align: right; }}
td {{ white-space: nowrap; }}
th[scope=row] {{ text-align: left; }}
.legend {{ list-style: none; padding: 0; }}
.swatch {{ display: inline-block; width: 1em; height: 1em; margin-right: .5em;
  vertical-align: middle; }}
</style></head>
<body><main>{body}</main></body></html>
"""
