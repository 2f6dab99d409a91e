"""The journey map: for each case status, the message it sends and its follow-ups,
with every channel and language, and the gaps (languages or channels without words)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from groundcontrol import keys
from groundcontrol.domain import CHANNELS
from groundcontrol.planning.journeys import Journeys, Rule
from groundcontrol.store.templates import TemplateKey
from groundcontrol.studio.auth import studio_page
from groundcontrol.studio.catalogue import Cell, Row, coverage
from groundcontrol.studio.journey_words import cadence, on_status, status_words, title
from groundcontrol.studio.views import render_page

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Step:
    """One message on a status's path: when it goes out, and its coverage."""

    when: str
    title: str
    row: Row

    @property
    def gaps(self) -> list[Cell]:
        return [cell for cell in self.row.cells if cell.source == "missing"]


@dataclass(frozen=True)
class Stage:
    status: str
    steps: list[Step]


def stages(journeys: Journeys, rows: list[Row], locales: list[str]) -> list[Stage]:
    """One stage per journey rule, in the file's order."""
    by_name = {row.name: row for row in rows}
    return [_stage(rule, by_name, locales) for rule in journeys.rules.values()]


def _stage(rule: Rule, by_name: dict[str, Row], locales: list[str]) -> Stage:
    # The stage's heading names the status, so its first step says only "at once".
    at_once = on_status(rule).replace(
        f"When a case becomes {status_words(rule.status)}", "At once", 1
    )
    steps = [Step(at_once, *_message(rule.template, by_name, locales))]
    if rule.follow_up is not None:
        later = cadence(rule)
        follow_up = _message(rule.follow_up.template, by_name, locales)
        steps.append(Step(later[:1].upper() + later[1:], *follow_up))
    return Stage(rule.status, steps)


def _message(name: str, by_name: dict[str, Row], locales: list[str]) -> tuple[str, Row]:
    row = by_name.get(name) or Row(
        name, [Cell(TemplateKey(name, ch, loc), "missing") for ch in CHANNELS for loc in locales]
    )
    return title(name), row


@routes.get("/studio/journeys")
@studio_page
async def journey_map(request: web.Request) -> web.StreamResponse:
    store = request.app[keys.TEMPLATE_STORE]
    files = request.app[keys.PUBLISHED].loader.list_templates()
    locales, rows = coverage(files, await store.overrides(), await store.drafts())
    found = stages(request.app[keys.JOURNEYS], rows, locales)
    return render_page(
        request,
        "journeys.html",
        stages=found,
        locales=locales,
        channels=CHANNELS,
        gaps=len({cell.key for stage in found for step in stage.steps for cell in step.gaps}),
        default_locale=request.app[keys.SETTINGS].templates.default_locale,
    )
