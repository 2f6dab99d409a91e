"""Version history of one template file: who published what and when, with diffs,
and a one-click restore of any version."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from groundcontrol import keys
from groundcontrol.api.storable import read_form
from groundcontrol.store.templates import EditConflict, TemplateKey, TemplateVersion
from groundcontrol.studio.auth import session_of, studio_page
from groundcontrol.studio.catalogue import editor_url
from groundcontrol.studio.drafts import Problem
from groundcontrol.studio.editor import EDITOR, draft_problems, file_source, now_of, template_key
from groundcontrol.studio.journey_words import title
from groundcontrol.studio.side_diff import Section, sections
from groundcontrol.studio.views import render_page

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Entry:
    version: TemplateVersion
    before: str  # what the version changed: "version 1", "the developers' file", "nothing"
    sections: list[Section]


def history_entries(versions: list[TemplateVersion], file_text: str | None) -> list[Entry]:
    """Each version (newest first) with its changes from the one before it."""
    entries = []
    for index, version in enumerate(versions):
        if index + 1 < len(versions):
            before, name = versions[index + 1].source, f"version {versions[index + 1].version}"
        else:
            before, name = file_text or "", "the developers' file" if file_text else "nothing"
        changes = sections(version.key.channel, before, version.source)
        entries.append(Entry(version, name, changes))
    return entries


@routes.get(EDITOR + "/history")
@studio_page
async def history(request: web.Request) -> web.StreamResponse:
    key = template_key(request)
    notice = (
        f"Restored version {request.query['restored']}." if "restored" in request.query else None
    )
    return await _history_page(request, key, notice=notice)


@routes.post(EDITOR + "/restore")
@studio_page
async def restore(request: web.Request) -> web.StreamResponse:
    key = template_key(request)
    form = await read_form(request)
    number, expected = _int(form.get("number")), _int(form.get("version"))
    store = request.app[keys.TEMPLATE_STORE]
    old = await store.version(key, number)
    if old is None:
        return await _history_page(
            request, key, status=404, notice=f"There is no version {number}."
        )
    problems = await draft_problems(request, key, old.source)
    if problems:
        return await _history_page(
            request,
            key,
            status=422,
            problems=problems,
            notice=f"Version {number} no longer renders, so it was not restored.",
        )
    try:
        await store.restore(key, number, session_of(request).who, expected, now_of(request))
    except EditConflict as exc:
        return await _history_page(request, key, status=409, notice=f"Not restored: {exc}.")
    await request.app[keys.PUBLISHED].refresh()
    raise web.HTTPSeeOther(f"{editor_url(key)}/history?restored={number}")


async def _history_page(
    request: web.Request,
    key: TemplateKey,
    *,
    status: int = 200,
    notice: str | None = None,
    problems: list[Problem] | None = None,
) -> web.Response:
    versions = await request.app[keys.TEMPLATE_STORE].history(key)
    return render_page(
        request,
        "history.html",
        status,
        key=key,
        message_title=title(key.name),
        default_locale=request.app[keys.SETTINGS].templates.default_locale,
        url=editor_url(key),
        entries=history_entries(versions, file_source(request, key.file)),
        current=versions[0].version if versions else 0,
        notice=notice,
        problems=problems or [],
    )


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
