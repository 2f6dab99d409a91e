"""Template files are checked for edits at most once per interval, not on every render.

jinja2 with `auto_reload` asks the loader whether a compiled template is still up to
date each time it is fetched, and a file loader answers with a `stat`. A chat message
fetches its template once, an e-mail its layout and every block: measured under load,
those checks were half of an e-mail's rendering time. An edited file is still picked up,
within `interval` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jinja2

Clock = Callable[[], float]


class ThrottledFreshness(jinja2.BaseLoader):
    """Serves `files`, asking each template's own up-to-date check at most every
    `interval` seconds (`clock` is monotonic; tests pass their own)."""

    def __init__(
        self, files: jinja2.BaseLoader, interval: float = 1.0, clock: Clock = time.monotonic
    ) -> None:
        self.files = files
        self.interval = interval
        self.clock = clock

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.files.get_source(environment, template)
        if uptodate is None:
            return source, filename, None
        return source, filename, self._throttled(uptodate)

    def _throttled(self, uptodate: Callable[[], bool]) -> Callable[[], bool]:
        checked_at = self.clock()

        def fresh() -> bool:
            nonlocal checked_at
            now = self.clock()
            if now - checked_at < self.interval:
                return True
            checked_at = now
            return bool(uptodate())

        return fresh

    def list_templates(self) -> list[str]:
        return self.files.list_templates()
