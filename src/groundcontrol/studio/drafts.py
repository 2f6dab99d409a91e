"""Render and check a draft exactly as sending would, without publishing it.

A draft is rendered by a renderer whose loader serves the draft for its one
file and everything else (layouts, other templates, published overrides) as
sending sees it. A draft may be published only when it compiles and renders
every sample case; each problem names the line of the draft it is on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jinja2

from groundcontrol.channels.base import OutgoingMessage
from groundcontrol.channels.segments import count_segments
from groundcontrol.domain import RenderedMessage
from groundcontrol.errors import TemplateError
from groundcontrol.planning.journeys import Journeys
from groundcontrol.store.templates import TemplateKey
from groundcontrol.templates.context import Sample
from groundcontrol.templates.renderer import Renderer

_LOCATED = re.compile(r"^(?P<file>[^\s:]+\.j2):(?P<line>\d+): (?P<message>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Problem:
    """Why a draft cannot be published; `line` is in the draft when known."""

    message: str
    line: int | None = None
    sample: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.message}" + (f" (sample {self.sample})" if self.sample else "")


@dataclass(frozen=True)
class SmsFacts:
    characters: int
    encoding: str
    segments: int
    limit: int

    @property
    def over_limit(self) -> bool:
        return self.segments > self.limit


@dataclass(frozen=True)
class Preview:
    """One draft rendered for one sample, or the problem that stopped it."""

    sample: str
    message: RenderedMessage | None = None
    sms: SmsFacts | None = None
    chat_json: str | None = None
    problem: Problem | None = None


def draft_renderer(base: Renderer, key: TemplateKey, source: str) -> Renderer:
    """A renderer that sees `source` as `key`'s file and everything else as `base` does."""
    loader = jinja2.ChoiceLoader([jinja2.DictLoader({key.file: source}), base.loader])
    return base.with_loader(loader)


def render_preview(renderer: Renderer, key: TemplateKey, sample: Sample, sms_limit: int) -> Preview:
    """Render the draft for `sample` as the customer would get it."""
    try:
        message = _render(renderer, key, sample)
    except TemplateError as exc:
        return Preview(sample.name, problem=locate(str(exc), key, sample.name))
    if key.channel == "sms":
        info = count_segments(message.text)
        facts = SmsFacts(len(message.text), info.encoding, info.segments, sms_limit)
        return Preview(sample.name, message, sms=facts)
    if key.channel == "chat":
        return Preview(sample.name, message, chat_json=chat_body(key, sample, message))
    return Preview(sample.name, message)


async def check_and_preview(
    renderer: Renderer, key: TemplateKey, samples: list[Sample], chosen: Sample | None, sms: int
) -> tuple[list[Problem], Preview | None]:
    """The draft's problems and its preview for `chosen`, rendered off the event loop."""

    def both() -> tuple[list[Problem], Preview | None]:
        preview = render_preview(renderer, key, chosen, sms) if chosen else None
        return check_draft(renderer, key, samples), preview

    return await renderer.off_loop(both)


def check_draft(renderer: Renderer, key: TemplateKey, samples: list[Sample]) -> list[Problem]:
    """Every reason the draft may not be published; empty when it may."""
    try:
        renderer.compile(key.file)
    except TemplateError as exc:
        return [locate(str(exc), key)]
    if not samples:
        return [Problem("no sample cases in templates/_samples to check the draft with")]
    problems: dict[str, Problem] = {}
    for sample in samples:
        try:
            _render(renderer, key, sample)
        except TemplateError as exc:
            found = locate(str(exc), key, sample.name)
            problems.setdefault(f"{found.line}:{found.message}", found)
    return list(problems.values())


def locate(error: str, key: TemplateKey, sample: str | None = None) -> Problem:
    """A renderer error as a Problem, with its line when it is in the draft's own file."""
    match = _LOCATED.match(error)
    if match is None:
        return Problem(error.removeprefix(f"{key.file}: "), sample=sample)
    if match["file"] != key.file:
        return Problem(f"{match['file']} line {match['line']}: {match['message']}", sample=sample)
    return Problem(match["message"], line=int(match["line"]), sample=sample)


def default_sample(samples: list[Sample], journeys: Journeys, template: str) -> Sample | None:
    """The sample for a status whose journey rule sends `template`, else the first."""
    statuses = {r.status for r in journeys.rules.values() if r.template == template} | {
        r.status
        for r in journeys.rules.values()
        if r.follow_up is not None and r.follow_up.template == template
    }
    named = [s for s in samples if s.name in statuses]  # received.json for "received"
    matching = [s for s in samples if s.case.status in statuses]
    return next(iter(named + matching + samples), None)


def chat_body(key: TemplateKey, sample: Sample, message: RenderedMessage) -> str:
    """The JSON the chat channel would post, pretty-printed."""
    from groundcontrol.channels.chat import build_payload

    outgoing = OutgoingMessage(
        notification_id="preview",
        message_key="preview",
        case_id=sample.case.id,
        status=sample.case.status,
        customer=sample.customer,
        channel=key.channel,
        address=sample.customer.chat_webhook or "",
        rendered=message,
        thread_key="preview",
    )
    payload: dict[str, Any] = build_payload(outgoing)
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _render(renderer: Renderer, key: TemplateKey, sample: Sample) -> RenderedMessage:
    locale = key.locale or renderer.default_locale
    return renderer.render(key.name, key.channel, key.locale or None, sample.context(locale))
