"""The template studio: marketers edit, preview and publish message templates in a
browser, under `/studio`, behind the admin token."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from groundcontrol.studio import auth, catalogue, editor, history, journey_map

STATIC = Path(__file__).parent / "static"

routes: list[web.AbstractRouteDef] = [
    *auth.routes,
    *catalogue.routes,
    *editor.routes,
    *history.routes,
    *journey_map.routes,
    web.static("/studio/static", STATIC),
]
