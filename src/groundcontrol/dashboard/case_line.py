"""A case's timeline as one line (server-rendered SVG): its events, its contacts, its
dark stretches drawn heavy, and its promise marked where it breaks (or broke).

Pure: timeline entries and the case's thread in, SVG text out. The picture has a title
and a description for screen readers; the page shows the same facts as a table too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from groundcontrol.store.case_views import CaseView
from groundcontrol.store.contract import TimelineEntry

WIDTH, HEIGHT = 960, 150
LEFT, RIGHT, LINE_Y = 40, 20, 70
CONTACTS = ("sent", "delivered", "viewed")


@dataclass(frozen=True)
class Stretch:
    start: datetime
    end: datetime
    broke_at: datetime | None  # when its promise broke, if it did within the stretch

    @property
    def breached(self) -> bool:
        return self.broke_at is not None


def dark_stretches(
    entries: Sequence[TimelineEntry], view: CaseView, now: datetime
) -> list[Stretch]:
    """The dark stretches: from the first event, or a contact, to the next contact (or
    now, if the case is open); each marked breached when its promise broke within it."""
    breaks = [_deadline(e) for e in entries if e.kind == "promise_breached"]
    starts = [entries[0].at] if entries else []
    starts += [e.at for e in entries if e.kind in CONTACTS]
    stretches = []
    for start, end in zip(starts, [*starts[1:], now], strict=True):
        if end <= start or (end == now and not view.thread.open):
            continue
        broke = [b for b in breaks if start < b <= end]
        stretches.append(Stretch(start, end, broke[0] if broke else None))
    return stretches


def _deadline(entry: TimelineEntry) -> datetime:
    """When a recorded breach's promise broke (the entry itself is when it was recorded)."""
    try:
        return datetime.fromisoformat(str(entry.detail["deadline"]))
    except (KeyError, ValueError):
        return entry.at


def draw(entries: Sequence[TimelineEntry], view: CaseView, now: datetime) -> str:
    """The SVG of the case's line, from its first entry to now."""
    first = entries[0].at if entries else view.thread.opened_at
    span = max((now - first).total_seconds(), 1.0)

    def x(at: datetime) -> float:
        share = min(max((at - first).total_seconds() / span, 0.0), 1.0)
        return round(LEFT + share * (WIDTH - LEFT - RIGHT), 1)

    parts = [_frame(view, first, now)]
    parts.append(
        f'<line class="thread" x1="{LEFT}" y1="{LINE_Y}" x2="{WIDTH - RIGHT}" y2="{LINE_Y}"/>'
    )
    for stretch in dark_stretches(entries, view, now):
        broke = stretch.broke_at or stretch.end
        parts.append(_segment("dark", x(stretch.start), x(broke)))
        if stretch.broke_at is not None:
            parts.append(_segment("dark breached", x(stretch.broke_at), x(stretch.end)))
    parts += _marks(entries, x)
    deadline = view.thread.deadline
    if deadline is not None:
        parts.append(_promise(x(deadline), deadline, deadline <= now))
    parts.append(_axis(first, now))
    parts.append("</svg>")
    return "\n".join(parts)


def _segment(kind: str, start: float, end: float) -> str:
    return f'<line class="{kind}" x1="{start}" y1="{LINE_Y}" x2="{end}" y2="{LINE_Y}"/>'


def _frame(view: CaseView, first: datetime, now: datetime) -> str:
    state = "open" if view.thread.open else "closed"
    summary = (
        f"Case {view.case_id}, {state}, status {view.status}, from {first:%Y-%m-%d %H:%M} "
        f"to {now:%Y-%m-%d %H:%M} UTC; dark since {view.thread.dark_since:%Y-%m-%d %H:%M} UTC"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="case-line" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="line-title line-desc">'
        f'<title id="line-title">Timeline of case {escape(view.case_id)}</title>'
        f'<desc id="line-desc">{escape(summary)}</desc>'
    )


def _marks(entries: Sequence[TimelineEntry], x: Callable[[datetime], float]) -> list[str]:
    marks = []
    for entry in entries:
        at = x(entry.at)
        label = escape(f"{entry.kind} {entry.at:%Y-%m-%d %H:%M:%S}")
        if entry.kind == "event":
            status = escape(str(entry.detail.get("status", "")))
            marks.append(
                f'<g class="event"><title>{label}: {status}</title>'
                f'<rect x="{at - 5}" y="{LINE_Y - 5}" width="10" height="10"/>'
                f'<text x="{at}" y="{LINE_Y - 14}">{status}</text></g>'
            )
        elif entry.kind in CONTACTS:
            marks.append(
                f'<g class="contact"><title>{label}</title>'
                f'<circle cx="{at}" cy="{LINE_Y}" r="6"/></g>'
            )
        elif entry.kind == "promise_breached":
            at = x(_deadline(entry))
            marks.append(
                f'<g class="breach"><title>{label}</title>'
                f'<path d="M{at - 6},{LINE_Y + 10} l12,12 m0,-12 l-12,12"/></g>'
            )
    return marks


def _promise(at: float, deadline: datetime, broken: bool) -> str:
    word = "promise broken" if broken else "promise"
    return (
        f'<g class="promise"><title>{word}: {deadline:%Y-%m-%d %H:%M:%S} UTC</title>'
        f'<line x1="{at}" y1="{LINE_Y - 40}" x2="{at}" y2="{LINE_Y + 40}"/>'
        f'<text x="{at}" y="{LINE_Y + 54}">{word}</text></g>'
    )


def _axis(first: datetime, now: datetime) -> str:
    bottom = HEIGHT - 6
    return (
        f'<text class="axis" x="{LEFT}" y="{bottom}">{first:%Y-%m-%d %H:%M}</text>'
        f'<text class="axis end" x="{WIDTH - RIGHT}" y="{bottom}">now {now:%Y-%m-%d %H:%M}</text>'
    )
