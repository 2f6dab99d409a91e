"""The page's words, from the `templates/_page/page[.<locale>].j2` blocks: editable like
every message (the studio, published overrides), in the customer's language with the
same fallback as messages. Each block is one line of text; the page escapes it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from groundcontrol.casepage.history import Step
from groundcontrol.casepage.preferences import offered_channels
from groundcontrol.domain import CaseState, ChannelName, Customer
from groundcontrol.errors import TemplateError
from groundcontrol.templates.context import Sample, first_name
from groundcontrol.templates.renderer import Renderer

WORDS = "_page/page"
_WORDS_FILE = re.compile(r"^_page/page(?:\.(?P<locale>[A-Za-z0-9_-]+))?\.j2$")
HEADINGS = (
    "title",
    "reference",
    "greeting",
    "history_heading",
    "next_heading",
    "next",
    "preferences_heading",
    "channels_legend",
    "order_legend",
    "quiet_hours_legend",
    "quiet_hours_label",
    "save",
    "saved",
    "form_expired",
)


@dataclass(frozen=True)
class Line:
    """One history step in words."""

    at: datetime
    when: str
    words: str


@dataclass(frozen=True)
class Words:
    lang: str
    text: Mapping[str, str]  # HEADINGS -> words
    history: list[Line]
    channel_names: Mapping[str, str]
    ranks: list[str]


def page_context(
    case: CaseState, customer: Customer, now: datetime, quiet_hours: tuple[str, str]
) -> dict[str, Any]:
    """What the words templates see: the customer's first name and nothing else of them."""
    return {
        "customer": {"first_name": first_name(customer.name)},
        "case": {
            "id": case.id,
            "status": case.status,
            "previous_status": case.previous_status,
            "data": dict(case.data),
        },
        "now": now,
        "timezone": customer.timezone,
        "quiet_hours": {"start": quiet_hours[0], "end": quiet_hours[1]},
    }


def page_words(
    renderer: Renderer,
    locale: str | None,
    context: Mapping[str, Any],
    history: Sequence[Step],
    channels: Sequence[ChannelName],
) -> Words:
    """Every word the page shows; TemplateError when a words template is broken."""
    resolved = renderer.resolve_words(WORDS, locale)

    def say(block: str, **extra: Any) -> str:
        return renderer.render_words(resolved, block, locale, {**context, **extra})

    lines = [
        Line(s.at, say("when", entry=s.as_context()), say("entry", entry=s.as_context()))
        for s in history
    ]
    return Words(
        lang=resolved.locale or renderer.default_locale,
        text={block: say(block) for block in HEADINGS},
        history=[line for line in lines if line.words],
        channel_names={c: say("channel_name", channel=c) for c in channels},
        ranks=[say("rank", rank=n) for n in range(1, len(channels) + 1)],
    )


def sample_history(sample: Sample) -> list[Step]:
    """What a sample case's page would list: its status, a message, a change of mind."""
    at = sample.case.status_at
    channel = next(iter(sample.customer.channels), "email")
    return [
        Step(at, "status", status=sample.case.status),
        Step(at + timedelta(minutes=1), "message", channel=channel),
        Step(at + timedelta(hours=2), "preferences"),
    ]


def sample_words(
    renderer: Renderer, locale: str | None, sample: Sample, quiet_hours: tuple[str, str]
) -> Words:
    """The page's words for a sample case (previews and checks)."""
    context = page_context(sample.case, sample.customer, sample.now, quiet_hours)
    channels = offered_channels(sample.customer)
    return page_words(renderer, locale, context, sample_history(sample), channels)


def words_problems(
    renderer: Renderer, samples: Sequence[Sample], quiet_hours: tuple[str, str]
) -> list[str]:
    """Every `_page/page*.j2` file that fails to render a sample, one line each
    (`groundcontrol check`: the page answers 404 while its words are broken)."""
    problems: dict[str, list[str]] = {}
    for file in sorted(renderer.loader.list_templates()):
        match = _WORDS_FILE.match(file)
        if match is None:
            continue
        for sample in samples:
            try:
                sample_words(renderer, match["locale"], sample, quiet_hours)
            except TemplateError as exc:
                problems.setdefault(str(exc), []).append(sample.name)
    return [f"{error} (sample {', '.join(names)})" for error, names in problems.items()]
