"""The case page's words in the studio: edit `templates/_page/page[.<locale>].j2`, preview
the whole page as a customer would see it with each sample case, save a shared draft and
publish (blocked while any sample fails). Versions go through the same template store as
messages, so a publish reaches every instance and the next page view uses it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import cast

from aiohttp import web

from groundcontrol import keys
from groundcontrol.casepage.preferences import current
from groundcontrol.casepage.views import case_html
from groundcontrol.casepage.words import WORDS, Words, sample_words
from groundcontrol.domain import ChannelName
from groundcontrol.errors import TemplateError
from groundcontrol.store.templates import EditConflict, TemplateKey
from groundcontrol.studio.auth import session_of, studio_page
from groundcontrol.studio.drafts import Problem, draft_renderer, locate
from groundcontrol.studio.editor import file_source, now_of
from groundcontrol.studio.views import render_page
from groundcontrol.templates.context import Sample, load_samples
from groundcontrol.templates.renderer import Renderer

routes = web.RouteTableDef()

LIST = "/studio/page"
EDITOR = "/studio/page/{file}"
_FILE = re.compile(r"^page(?:\.(?P<locale>[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*))?$")


def page_key(file: str) -> TemplateKey:
    """`page.nl` -> the key of `_page/page.nl.j2`. The template store keeps it beside the
    message templates; "page" is not a delivery channel, hence the cast."""
    match = _FILE.match(file)
    if match is None:
        raise web.HTTPNotFound()
    return TemplateKey("_page", cast(ChannelName, "page"), match["locale"] or "")


def editor_url(key: TemplateKey) -> str:
    return f"{LIST}/page" + (f".{key.locale}" if key.locale else "")


@routes.get(LIST)
@studio_page
async def page_files(request: web.Request) -> web.StreamResponse:
    """Every language of the page's words there is a file, draft or publish for."""
    loader_files = request.app[keys.PUBLISHED].loader.list_templates()
    drafts = await request.app[keys.TEMPLATE_STORE].drafts()
    names = [f for f in loader_files if f.startswith(f"{WORDS}.") or f == f"{WORDS}.j2"]
    names += [d.key.file for d in drafts if d.key.name == "_page"]
    files = sorted({n.removeprefix("_page/").removesuffix(".j2") for n in names})
    return render_page(request, "page_words_list.html", files=files, list_url=LIST)


@routes.get(EDITOR)
@studio_page
async def edit(request: web.Request) -> web.StreamResponse:
    key = page_key(request.match_info["file"])
    source, version, revision = await _opened(request, key)
    notice = _notice(request.query)
    return await _editor(request, key, source, version, revision, notice=notice)


@routes.post(EDITOR + "/preview")
@studio_page
async def preview(request: web.Request) -> web.StreamResponse:
    key = page_key(request.match_info["file"])
    form = await request.post()
    return await _editor(
        request,
        key,
        _source(form.get("source")),
        _int(form.get("version")),
        _int(form.get("revision")),
        sample=str(form.get("sample", "")),
    )


@routes.post(EDITOR + "/save")
@studio_page
async def save(request: web.Request) -> web.StreamResponse:
    key = page_key(request.match_info["file"])
    form = await request.post()
    source, revision = _source(form.get("source")), _int(form.get("revision"))
    store = request.app[keys.TEMPLATE_STORE]
    try:
        draft = await store.save_draft(
            key, source, session_of(request).who, revision, now_of(request)
        )
    except EditConflict as exc:
        return await _editor(
            request,
            key,
            source,
            _int(form.get("version")),
            revision,
            notice=f"Not saved: {exc}. Reload to see their text.",
            status=409,
        )
    raise web.HTTPSeeOther(f"{editor_url(key)}?saved={draft.revision}")


@routes.post(EDITOR + "/publish")
@studio_page
async def publish(request: web.Request) -> web.StreamResponse:
    key = page_key(request.match_info["file"])
    form = await request.post()
    source, version = _source(form.get("source")), _int(form.get("version"))
    revision = _int(form.get("revision"))
    renderer = draft_renderer(request.app[keys.RENDERER], key, source)
    if _problems(request, renderer, key, _samples(request)):
        return await _editor(
            request,
            key,
            source,
            version,
            revision,
            status=422,
            notice="Not published: fix the problems below first.",
        )
    try:
        published = await request.app[keys.TEMPLATE_STORE].publish(
            key,
            source,
            session_of(request).who,
            version,
            now_of(request),
            expected_revision=revision,
        )
    except EditConflict as exc:
        return await _editor(
            request,
            key,
            source,
            version,
            revision,
            notice=f"Not published: {exc}. Reload to see their text.",
            status=409,
        )
    await request.app[keys.PUBLISHED].refresh()
    raise web.HTTPSeeOther(f"{editor_url(key)}?published={published.version}")


async def _opened(request: web.Request, key: TemplateKey) -> tuple[str, int, int]:
    """The draft, else the published version, else the file, else the default words."""
    store = request.app[keys.TEMPLATE_STORE]
    draft, published = await store.draft(key), await store.current(key)
    version = published.version if published else 0
    revision = draft.revision if draft else 0
    if draft is not None:
        return draft.source, version, revision
    if published is not None:
        return published.source, version, revision
    text = file_source(request, key.file) or file_source(request, f"{WORDS}.j2") or ""
    return text, version, revision


async def _editor(
    request: web.Request,
    key: TemplateKey,
    source: str,
    version: int,
    revision: int,
    *,
    sample: str = "",
    notice: str | None = None,
    status: int = 200,
) -> web.Response:
    samples = _samples(request)
    renderer = draft_renderer(request.app[keys.RENDERER], key, source)
    chosen = next((s for s in samples if s.name == sample), samples[0] if samples else None)
    shown, failed = _preview(request, renderer, key, chosen) if chosen else ("", None)
    return render_page(
        request,
        "page_words.html",
        status,
        key=key,
        url=editor_url(key),
        list_url=LIST,
        source=source,
        version=version,
        revision=revision,
        notice=notice,
        failed=status >= 400,
        problems=_problems(request, renderer, key, samples),
        samples=samples,
        sample=chosen.name if chosen else "",
        preview=shown,
        preview_problem=failed,
    )


def _preview(
    request: web.Request, renderer: Renderer, key: TemplateKey, sample: Sample
) -> tuple[str, Problem | None]:
    """The whole page for `sample`, as its customer would see it, or why it fails."""
    try:
        words = _words(request, renderer, key, sample)
    except TemplateError as exc:
        return "", locate(str(exc), key, sample.name)
    prefs = current(sample.customer)
    return case_html(words, prefs, action="#", csrf="preview"), None


def _problems(
    request: web.Request, renderer: Renderer, key: TemplateKey, samples: list[Sample]
) -> list[Problem]:
    if not samples:
        return [Problem("no sample cases in templates/_samples to check the words with")]
    found: dict[str, Problem] = {}
    for sample in samples:
        try:
            _words(request, renderer, key, sample)
        except TemplateError as exc:
            problem = locate(str(exc), key, sample.name)
            found.setdefault(f"{problem.line}:{problem.message}", problem)
    return list(found.values())


def _words(request: web.Request, renderer: Renderer, key: TemplateKey, sample: Sample) -> Words:
    settings = request.app[keys.SETTINGS].quiet_hours
    locale = key.locale or renderer.default_locale
    return sample_words(renderer, locale, sample, (settings.start, settings.end))


def _samples(request: web.Request) -> list[Sample]:
    return load_samples(request.app[keys.SETTINGS].templates.dir / "_samples")


def _notice(query: Mapping[str, str]) -> str | None:
    if "published" in query:
        return f"Published version {query['published']}: the next page view uses it."
    if "saved" in query:
        return f"Draft saved (revision {query['saved']}). Drafts never reach customers."
    return None


def _source(value: object) -> str:
    return str(value or "").replace("\r\n", "\n")


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
