"""The template studio: marketers edit, preview and publish message templates in a
browser, under `/studio`, behind the admin token."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from groundcontrol.studio import auth, catalogue, editor, history, journey_map, page_words

STATIC = Path(__file__).parent / "static"

routes: list[web.AbstractRouteDef] = [
    *auth.routes,
    *catalogue.routes,
    *editor.routes,
    *history.routes,
    *journey_map.routes,
    *page_words.routes,
    web.static("/studio/static", STATIC),
]
