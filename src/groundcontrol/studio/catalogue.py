"""The message list: every message in words, when the journeys send it, and which
channels and languages it has."""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from aiohttp import web

from groundcontrol import keys
from groundcontrol.domain import CHANNELS, ChannelName
from groundcontrol.planning.journeys import Journeys
from groundcontrol.store.templates import Draft, TemplateKey, TemplateVersion
from groundcontrol.studio.auth import studio_page
from groundcontrol.studio.journey_words import journey_order, title, uses, when_sent
from groundcontrol.studio.views import message_page, render_page
from groundcontrol.templates.check import list_templates

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Cell:
    """One template file in the matrix: where its words come from, if anywhere."""

    key: TemplateKey
    source: str  # "published" | "file" | "missing"
    version: int | None = None
    draft: bool = False

    @property
    def url(self) -> str:
        return editor_url(self.key)

    @property
    def state(self) -> str:
        """In words: "ready", "v2", "missing", with ", draft" when one is waiting."""
        words = {"published": f"v{self.version}", "file": "ready"}.get(self.source, "missing")
        return f"{words}, draft" if self.draft else words


@dataclass(frozen=True)
class Row:
    name: str
    cells: list[Cell]

    @property
    def gaps(self) -> int:
        return sum(cell.source == "missing" for cell in self.cells)

    def cells_for(self, channel: ChannelName) -> list[Cell]:
        return [cell for cell in self.cells if cell.key.channel == channel]


@dataclass(frozen=True)
class Message:
    """One row of the message list: a template in words."""

    row: Row
    title: str
    when: list[str]
    statuses: list[str]

    def matches(self, query: str) -> bool:
        """Whether every meaningful word of `query` is about this message."""
        text = " ".join([self.title, self.row.name, *self.when, *self.statuses]).lower()
        words = [w for w in query.lower().replace("_", " ").split() if w not in _STOP_WORDS]
        return all(word in text for word in words)


# A marketer asks "what do we send when a case is received": "received" is the question.
_STOP_WORDS = frozenset(
    (  # noqa: SIM905 (the words read as a sentence)
        "a an the what which do does we us our you is are be becomes when send sent sends "
        "message messages case cases to of for on in"
    ).split()
)


def messages(journeys: Journeys, rows: list[Row]) -> list[Message]:
    """The rows in journey order, each with its human name and when it is sent."""
    by_name = {row.name: row for row in rows}
    return [
        Message(
            by_name[name],
            title(name),
            when_sent(journeys, name),
            [use.status for use in uses(journeys, name)],
        )
        for name in journey_order(journeys, list(by_name))
    ]


def editor_url(key: TemplateKey) -> str:
    file = key.channel + (f".{key.locale}" if key.locale else "")
    return f"/studio/templates/{key.name}/{file}"


def coverage(
    files: list[str], overrides: list[TemplateVersion], drafts: list[Draft]
) -> tuple[list[str], list[Row]]:
    """The locales (columns, "" first) and one row per template name."""
    # A draft of a new language adds its column; only files say a cell has words.
    catalogue = list_templates_from(files + [d.key.file for d in drafts])
    existing = list_templates_from(files)
    published = {v.key: v.version for v in overrides}
    drafted = {d.key for d in drafts}
    locales = sorted(
        {loc for by in catalogue.values() for locs in by.values() for loc in locs} | {""}
    )
    rows = []
    for name in sorted(catalogue):
        present = {(ch, loc) for ch, locs in existing.get(name, {}).items() for loc in locs}
        cells = [
            _cell(
                TemplateKey(name, channel, locale), (channel, locale) in present, published, drafted
            )
            for channel in CHANNELS
            for locale in locales
        ]
        rows.append(Row(name, cells))
    return locales, rows


def list_templates_from(files: list[str]) -> dict[str, dict[ChannelName, list[str]]]:
    return list_templates(jinja2.DictLoader(dict.fromkeys(files, "")))


def _cell(
    key: TemplateKey, exists: bool, published: dict[TemplateKey, int], drafted: set[TemplateKey]
) -> Cell:
    if key in published:
        return Cell(key, "published", published[key], key in drafted)
    return Cell(key, "file" if exists else "missing", None, key in drafted)


@routes.get("/studio/templates")
@studio_page
async def template_list(request: web.Request) -> web.StreamResponse:
    store = request.app[keys.TEMPLATE_STORE]
    files = request.app[keys.PUBLISHED].loader.list_templates()
    _, rows = coverage(files, await store.overrides(), await store.drafts())
    query = request.query.get("q", "").strip()
    everything = messages(request.app[keys.JOURNEYS], rows)
    return render_page(
        request,
        "list.html",
        channels=CHANNELS,
        messages=[m for m in everything if m.matches(query)],
        total=len(everything),
        q=query,
        default_locale=request.app[keys.SETTINGS].templates.default_locale,
    )


@routes.get("/studio/new")
@studio_page
async def new_template(request: web.Request) -> web.StreamResponse:
    """The "add a template or a language" form: on to that file's editor."""
    name, channel = request.query.get("name", "").strip(), request.query.get("channel", "")
    locale = request.query.get("locale", "").strip()
    suffix = f".{locale}" if locale else ""
    try:
        key = TemplateKey.parse(f"{name}/{channel}{suffix}.j2")
    except ValueError:
        return message_page(
            request,
            422,
            "Not a template name",
            "Use letters, digits, - and _ for the name, and a language tag like fr or fr-CA.",
        )
    raise web.HTTPSeeOther(editor_url(key))
