"""`groundcontrol templates export DIR` and `import DIR`: the studio's published
overrides to and from files, so a team can commit what marketers published.

Export writes the effective set (every template file, with published overrides
in place of the files they override). Import publishes each message template in
DIR whose text differs from what is in use, as a new version, after checking it
renders every sample case exactly as the studio checks a publish; one broken
file means nothing is published.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import jinja2

from groundcontrol.domain import utcnow
from groundcontrol.settings import Settings
from groundcontrol.store import open_store
from groundcontrol.store.templates import TemplateKey, TemplateStore
from groundcontrol.studio.drafts import check_draft, draft_renderer
from groundcontrol.templates.context import load_samples
from groundcontrol.templates.overrides import OverlayLoader
from groundcontrol.templates.renderer import Renderer

IMPORT_AUTHOR = "groundcontrol templates import"


async def export_templates(settings: Settings, directory: Path) -> int:
    """Write every effective template file under `directory`; how many were written."""
    async with _opened(settings) as (_, loader):
        env = jinja2.Environment()
        files = [f for f in loader.list_templates() if f.endswith(".j2")]
        for file in files:
            target = directory / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(loader.get_source(env, file)[0], encoding="utf-8")
    return len(files)


async def import_templates(settings: Settings, directory: Path) -> tuple[int, list[str]]:
    """Publish the message templates in `directory` that differ from those in use:
    (how many were published, problems)."""
    async with _opened(settings) as (store, loader):
        sources = {
            file: source
            for file, source in _message_templates(directory).items()
            if _in_use(loader, file) != source
        }
        renderer = _renderer(settings, loader)
        samples = load_samples(settings.templates.dir / "_samples")
        problems = [
            f"{file}: {problem}"
            for file, source in sources.items()
            for problem in check_draft(
                draft_renderer(renderer, TemplateKey.parse(file), source),
                TemplateKey.parse(file),
                samples,
            )
        ]
        if problems:
            return 0, problems
        return await store.import_files(sources, IMPORT_AUTHOR, utcnow()), []


def _message_templates(directory: Path) -> dict[str, str]:
    sources = {}
    for path in sorted(directory.glob("*/*.j2")):
        file = path.relative_to(directory).as_posix()
        try:
            TemplateKey.parse(file)
        except ValueError:
            continue  # layouts and other shared files stay developer-owned
        sources[file] = path.read_text(encoding="utf-8")
    return sources


def _in_use(loader: jinja2.BaseLoader, file: str) -> str | None:
    try:
        return loader.get_source(jinja2.Environment(), file)[0]
    except jinja2.TemplateNotFound:
        return None


def _renderer(settings: Settings, loader: jinja2.BaseLoader) -> Renderer:
    return Renderer(
        loader,
        max_output_chars=settings.templates.max_output_chars,
        default_locale=settings.templates.default_locale,
        max_steps=settings.templates.max_render_steps,
        max_seconds=settings.templates.max_render_seconds,
    )


@asynccontextmanager
async def _opened(settings: Settings) -> AsyncIterator[tuple[TemplateStore, OverlayLoader]]:
    """The store's template overrides and the effective loader, open for the block."""
    store = await open_store(settings.store.url)
    try:
        templates = store.templates()
        files = jinja2.FileSystemLoader(settings.templates.dir)
        yield templates, OverlayLoader(files, await templates.published())
    finally:
        await store.close()
