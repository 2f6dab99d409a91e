"""Two template layers read through one loader: published overrides first, then files.

The overrides are an in-memory snapshot of the store, so rendering never waits
on the database. The snapshot is refreshed at start, after a publish on this
instance and, on PostgreSQL, when another instance publishes (NOTIFY). A
refresh changes the loader's generation, which makes every compiled template
out of date, so the next render reads the new layer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import jinja2

from groundcontrol.store.templates import TemplateStore, Unfollow

log = logging.getLogger(__name__)


class OverlayLoader(jinja2.BaseLoader):
    """Serves names from a replaceable snapshot, everything else from `fallback`."""

    def __init__(
        self, fallback: jinja2.BaseLoader, snapshot: Mapping[str, str] | None = None
    ) -> None:
        self.fallback = fallback
        self._snapshot: dict[str, str] = dict(snapshot or {})
        self._generation = 0

    @property
    def snapshot(self) -> Mapping[str, str]:
        return dict(self._snapshot)

    def replace(self, snapshot: Mapping[str, str]) -> None:
        """Swap in a new set of overrides; compiled templates go out of date."""
        self._snapshot = dict(snapshot)
        self._generation += 1

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool]]:
        generation = self._generation
        if template in self._snapshot:
            return self._snapshot[template], None, lambda: generation == self._generation
        source, filename, uptodate = self.fallback.get_source(environment, template)

        def fresh() -> bool:
            return generation == self._generation and (uptodate is None or bool(uptodate()))

        return source, filename, fresh

    def list_templates(self) -> list[str]:
        return sorted({*self.fallback.list_templates(), *self._snapshot})


class PublishedTemplates:
    """The override layer of one instance: a loader and the means to refresh it."""

    def __init__(self, fallback: jinja2.BaseLoader) -> None:
        self.loader = OverlayLoader(fallback)
        self._store: TemplateStore | None = None
        self._close_listener: Unfollow | None = None
        self._listeners: list[Callable[[], None]] = []
        self._refreshing: set[asyncio.Task[None]] = set()

    def on_refresh(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every refresh (e.g. `Renderer.clear_cache`)."""
        self._listeners.append(callback)

    async def start(self, store: TemplateStore) -> None:
        """Load the snapshot and follow other instances' publishes (PostgreSQL)."""
        self._store = store
        await self.refresh()
        self._close_listener = await store.follow(self._refresh_soon)

    async def stop(self) -> None:
        if self._close_listener is not None:
            await self._close_listener()
            self._close_listener = None
        for task in list(self._refreshing):
            task.cancel()
        await asyncio.gather(*self._refreshing, return_exceptions=True)

    async def refresh(self) -> None:
        """Read every published override from the store into the loader."""
        if self._store is None:
            raise RuntimeError("PublishedTemplates.start() was not called")
        self.loader.replace(await self._store.published())
        for callback in self._listeners:
            callback()

    def _refresh_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self._logged_refresh())
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)

    async def _logged_refresh(self) -> None:
        try:
            await self.refresh()
        except Exception:
            log.exception("could not reload published templates after another instance published")
