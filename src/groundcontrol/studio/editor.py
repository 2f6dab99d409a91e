"""The editor of one template file: live preview, save draft, publish, send test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from groundcontrol import keys
from groundcontrol.api.storable import read_form
from groundcontrol.errors import DeliveryError, TemplateError
from groundcontrol.store.templates import (
    Draft,
    EditConflict,
    TemplateKey,
    TemplateStore,
    TemplateVersion,
)
from groundcontrol.studio.auth import session_of, studio_page
from groundcontrol.studio.catalogue import editor_url
from groundcontrol.studio.drafts import (
    Problem,
    check_and_preview,
    check_draft,
    default_sample,
    draft_renderer,
    render_preview,
)
from groundcontrol.studio.field_offers import TODAY, offers
from groundcontrol.studio.fields import Fields, empty, join, layout_or_default, split
from groundcontrol.studio.journey_words import title, when_sent
from groundcontrol.studio.plain_errors import shown
from groundcontrol.studio.real_samples import recent_samples
from groundcontrol.studio.test_send import BadAddress, check_address, send_test
from groundcontrol.studio.views import render_page
from groundcontrol.templates.context import Sample, load_samples

routes = web.RouteTableDef()

EDITOR = "/studio/templates/{name}/{file}"


class NotATemplate(web.HTTPNotFound):
    """The path names no message template file."""


@dataclass(frozen=True)
class Opened:
    """What the editor opened: the text shown and the versions it was based on."""

    key: TemplateKey
    source: str
    published: TemplateVersion | None
    draft: Draft | None
    origin: str  # where the shown text came from, for the page
    in_file: bool  # templates/ has this file


@dataclass(frozen=True)
class Submitted:
    source: str
    version: int
    revision: int
    sample: str
    mode: str  # "simple" | "advanced": the editor the marketer had open


def template_key(request: web.Request) -> TemplateKey:
    name, file = request.match_info["name"], request.match_info["file"]
    try:
        return TemplateKey.parse(f"{name}/{file}.j2")
    except ValueError:
        raise NotATemplate() from None


async def open_template(request: web.Request, key: TemplateKey) -> Opened:
    """The draft if there is one, else the published override, else the file; a
    missing translation starts from the text it falls back to."""
    store = request.app[keys.TEMPLATE_STORE]
    draft, published = await store.draft(key), await store.current(key)
    file_text = file_source(request, key.file)
    in_file = file_text is not None
    if draft is not None:
        origin = f"draft revision {draft.revision}"
        return Opened(key, draft.source, published, draft, origin, in_file)
    if published is not None:
        origin = f"published version {published.version}"
        return Opened(key, published.source, published, None, origin, in_file)
    if file_text is not None:
        return Opened(key, file_text, None, None, f"the file templates/{key.file}", in_file)
    fallback = _fallback(request, key)
    origin = f"a copy of {fallback[0]} (no {key.file} yet)" if fallback else "an empty template"
    return Opened(key, fallback[1] if fallback else empty(key.channel), None, None, origin, in_file)


@routes.get(EDITOR)
@studio_page
async def editor(request: web.Request) -> web.StreamResponse:
    key = template_key(request)
    opened = await open_template(request, key)
    return await _editor_page(
        request,
        opened,
        opened.source,
        notice=_notice(request.query),
        sample=request.query.get("sample", ""),
        mode=request.query.get("mode", "simple"),
    )


@routes.post(EDITOR + "/switch")
@studio_page
async def switch(request: web.Request) -> web.StreamResponse:
    """The same text in the other editor, unsaved: nothing typed is lost."""
    key = template_key(request)
    submitted = await _submitted(request)
    form = await read_form(request)
    to = "advanced" if form.get("to") == "advanced" else "simple"
    fits = to == "advanced" or split(key.channel, submitted.source) is not None
    page = _page_for(request, await open_template(request, key), submitted, to)
    return await page("" if fits else _DOES_NOT_FIT, 200)


_DOES_NOT_FIT = (
    "This template has parts the simple editor cannot show (such as its own HTML), "
    "so it stays in the advanced editor."
)


@routes.post(EDITOR + "/preview")
@studio_page
async def preview(request: web.Request) -> web.StreamResponse:
    key = template_key(request)
    submitted = await _submitted(request)
    return await _preview_fragment(request, key, submitted, await _samples(request, key))


@routes.post(EDITOR + "/save")
@studio_page
async def save(request: web.Request) -> web.StreamResponse:
    key = template_key(request)
    submitted = await _submitted(request)
    store = request.app[keys.TEMPLATE_STORE]
    try:
        draft = await store.save_draft(
            key, submitted.source, session_of(request).who, submitted.revision, now_of(request)
        )
    except EditConflict as exc:
        return await _conflict(request, key, submitted, exc)
    raise web.HTTPSeeOther(_back(key, submitted, saved=draft.revision))


@routes.post(EDITOR + "/publish")
@studio_page
async def publish(request: web.Request) -> web.StreamResponse:
    key = template_key(request)
    submitted = await _submitted(request)
    problems = await draft_problems(request, key, submitted.source)
    if problems:
        opened = await open_template(request, key)
        return await _editor_page(
            request,
            opened,
            submitted.source,
            problems=problems,
            status=422,
            notice="Not published: fix the problems below first.",
            sample=submitted.sample,
            version=submitted.version,
            revision=submitted.revision,
            mode=submitted.mode,
        )
    try:
        published = await request.app[keys.TEMPLATE_STORE].publish(
            key,
            submitted.source,
            session_of(request).who,
            submitted.version,
            now_of(request),
            expected_revision=submitted.revision,
        )
    except EditConflict as exc:
        return await _conflict(request, key, submitted, exc)
    await request.app[keys.PUBLISHED].refresh()
    raise web.HTTPSeeOther(_back(key, submitted, published=published.version))


@routes.post(EDITOR + "/test")
@studio_page
async def test_send(request: web.Request) -> web.StreamResponse:
    key = template_key(request)
    submitted = await _submitted(request)
    form = await read_form(request)
    opened = await open_template(request, key)
    page = _page_for(request, opened, submitted)
    try:
        address = check_address(key, str(form.get("address", "")))
    except BadAddress as exc:
        return await page(f"Test not sent: {exc}.", 422)
    samples = await _samples(request, key)
    sample = _choose(samples, submitted.sample, request, key)
    if sample is None:
        return await page("Test not sent: there are no sample cases to render it with.", 422)
    renderer = draft_renderer(request.app[keys.RENDERER], key, submitted.source)
    rendered = await renderer.off_loop(render_preview, renderer, key, sample, _sms_limit(request))
    if rendered.message is None:
        return await page(f"Test not sent: {rendered.problem}.", 422)
    try:
        await send_test(
            channel=request.app[keys.CHANNELS][key.channel],
            store=request.app[keys.TEMPLATE_STORE],
            key=key,
            rendered=rendered.message,
            sample=sample,
            address=address,
            who=session_of(request).who,
            now=now_of(request),
        )
    except DeliveryError as exc:
        return await page(f"Test to {address} failed: {exc}", 502)
    return await _back_to_editor(
        request, opened, submitted, {"tested": address, "sample": sample.name}
    )


async def _back_to_editor(
    request: web.Request, opened: Opened, submitted: Submitted, query: dict[str, str]
) -> web.StreamResponse:
    """Back to the editor's own address; text the marketer changed is kept as a draft
    (drafts never affect sending), so the editor reopens with it."""
    key = opened.key
    if submitted.source != opened.source:
        try:
            draft = await request.app[keys.TEMPLATE_STORE].save_draft(
                key, submitted.source, session_of(request).who, submitted.revision, now_of(request)
            )
        except EditConflict as exc:
            return await _conflict(request, key, submitted, exc)
        query["saved"] = str(draft.revision)
    raise web.HTTPSeeOther(_back(key, submitted, **query))


def _back(key: TemplateKey, submitted: Submitted, **query: object) -> str:
    """The editor's address after a form, in the editor the marketer had open."""
    if submitted.mode == "advanced":
        query["mode"] = "advanced"
    return f"{editor_url(key)}?{urlencode(query)}"


def _page_for(
    request: web.Request, opened: Opened, submitted: Submitted, mode: str | None = None
) -> Callable[[str, int], Awaitable[web.Response]]:
    async def page(notice: str, status: int) -> web.Response:
        return await _editor_page(
            request,
            opened,
            submitted.source,
            notice=notice or None,
            status=status,
            sample=submitted.sample,
            version=submitted.version,
            revision=submitted.revision,
            mode=mode or submitted.mode,
        )

    return page


async def _conflict(
    request: web.Request, key: TemplateKey, submitted: Submitted, exc: EditConflict
) -> web.Response:
    # Keep the marketer's text and show what changed under them; the form now
    # carries the current versions, so saving again replaces theirs knowingly.
    opened = await open_template(request, key)
    return await _editor_page(
        request,
        opened,
        submitted.source,
        status=409,
        sample=submitted.sample,
        mode=submitted.mode,
        conflict={"message": str(exc), "theirs": opened.source, "origin": opened.origin},
    )


async def _editor_page(
    request: web.Request,
    opened: Opened,
    source: str,
    *,
    status: int = 200,
    notice: str | None = None,
    problems: list[Problem] | None = None,
    conflict: dict[str, str] | None = None,
    sample: str = "",
    version: int | None = None,
    revision: int | None = None,
    mode: str = "simple",
) -> web.Response:
    key = opened.key
    samples = await _samples(request, key)
    store: TemplateStore = request.app[keys.TEMPLATE_STORE]
    return render_page(
        request,
        "editor.html",
        status,
        key=key,
        url=editor_url(key),
        opened=opened,
        message_title=title(key.name),
        default_locale=request.app[keys.SETTINGS].templates.default_locale,
        when=when_sent(request.app[keys.JOURNEYS], key.name),
        version=opened.published.version if version is None and opened.published else version or 0,
        revision=opened.draft.revision if revision is None and opened.draft else revision or 0,
        notice=notice,
        failed=status >= 400,
        conflict=conflict,
        samples=samples,
        tests=await store.test_sends(key),
        **await _workspace(request, key, source, mode, samples, sample, problems),
    )


async def _workspace(
    request: web.Request,
    key: TemplateKey,
    source: str,
    mode: str,
    samples: list[Sample],
    sample: str,
    problems: list[Problem] | None = None,
) -> dict[str, Any]:
    """What the editor and its live preview show of `source`: its fields in the simple
    editor (None when it only fits the advanced one), the preview and the problems."""
    renderer = draft_renderer(request.app[keys.RENDERER], key, source)
    chosen = _choose(samples, sample, request, key)
    fields = split(key.channel, source) if mode != "advanced" else None
    # Off the event loop, under one render budget (templates/budget.py).
    checked, preview = await check_and_preview(renderer, key, samples, chosen, _sms_limit(request))
    found = problems if problems is not None else checked
    return {
        "source": source,
        "fields": fields,
        "problems": [shown(p, source, key.channel, fields) for p in found],
        "sample": chosen.name if chosen else "",
        "preview": preview,
        "offers": offers([chosen, *samples] if chosen else samples),
        "today": TODAY,
        "line_count": max(source.count("\n") + 1, 1),
    }


async def _preview_fragment(
    request: web.Request, key: TemplateKey, submitted: Submitted, samples: list[Sample]
) -> web.Response:
    workspace = await _workspace(
        request, key, submitted.source, submitted.mode, samples, submitted.sample
    )
    return render_page(request, "live.html", key=key, **workspace)


async def draft_problems(request: web.Request, key: TemplateKey, source: str) -> list[Problem]:
    renderer = draft_renderer(request.app[keys.RENDERER], key, source)
    samples = await _samples(request, key)
    return await renderer.off_loop(check_draft, renderer, key, samples)


async def _submitted(request: web.Request) -> Submitted:
    """The form as a template file: the simple editor's fields are joined back into
    the file they came from, the advanced editor sends the file itself."""
    form = await read_form(request)
    key = template_key(request)
    mode = "simple" if form.get("mode") == "simple" else "advanced"
    if mode == "simple":
        fields = Fields(
            body=_text(form.get("body")),
            subject=_text(form.get("subject")),
            layout=layout_or_default(_text(form.get("layout"))),
        )
        source = join(key.channel, fields)
    else:
        source = _text(form.get("source"))
    return Submitted(
        source=source,
        version=_int(form.get("version")),
        revision=_int(form.get("revision")),
        sample=str(form.get("sample", "")),
        mode=mode,
    )


def _text(value: object) -> str:
    return str(value or "").replace("\r\n", "\n")


async def _samples(request: web.Request, key: TemplateKey) -> list[Sample]:
    """The bundled samples, then recent real cases of the statuses that send this
    template (personal fields masked): a draft must render for all of them."""
    files = load_samples(request.app[keys.SETTINGS].templates.dir / "_samples")
    journeys = request.app[keys.JOURNEYS]
    return files + await recent_samples(request.app[keys.TEMPLATE_STORE], journeys, key.name)


def _choose(
    samples: list[Sample], name: str, request: web.Request, key: TemplateKey
) -> Sample | None:
    by_name = {s.name: s for s in samples}
    if name in by_name:
        return by_name[name]
    return default_sample(samples, request.app[keys.JOURNEYS], key.name)


def _sms_limit(request: web.Request) -> int:
    return request.app[keys.SETTINGS].templates.sms_segment_limit


def file_source(request: web.Request, file: str) -> str | None:
    files = request.app[keys.PUBLISHED].loader.fallback
    try:
        return files.get_source(jinja2.Environment(), file)[0]
    except jinja2.TemplateNotFound:
        return None


def _fallback(request: web.Request, key: TemplateKey) -> tuple[str, str] | None:
    renderer = request.app[keys.RENDERER]
    try:
        file = renderer.resolve(key.name, key.channel, key.locale or None).file
        return file, renderer.loader.get_source(jinja2.Environment(), file)[0]
    except (TemplateError, jinja2.TemplateNotFound):
        return None


def _notice(query: Any) -> str | None:
    if "tested" in query:
        kept = (
            f" Your text is kept as draft revision {query['saved']}; drafts never affect sending."
            if "saved" in query
            else ""
        )
        return f"Test sent to {query['tested']}.{kept}"
    if "published" in query:
        return f"Published version {query['published']}: the next message sent uses it."
    if "saved" in query:
        return f"Draft saved (revision {query['saved']}). Drafts never affect sending."
    return None


def now_of(request: web.Request) -> datetime:
    return request.app[keys.CLOCK]()


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
