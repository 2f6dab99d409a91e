"""`GET /`: a small page saying where everything is. Server-rendered, no JavaScript,
nothing secret on it; the start-up log prints the same places (`where_things_are`)."""

from __future__ import annotations

from html import escape

from aiohttp import web

from groundcontrol import __version__

routes = web.RouteTableDef()

# (path, what it is): the API list, the start-up log and the home page share this.
PLACES = (
    ("/v1/events", "Ingest API: case events (source token)"),
    ("/studio", "Template studio: edit and preview messages (admin sign-in)"),
    ("/openapi.json", "OpenAPI document: every API endpoint"),
    ("/metrics", "Prometheus metrics"),
    ("/healthz", "Liveness"),
    ("/readyz", "Readiness (the store answers)"),
)


def where_things_are(base_url: str) -> list[str]:
    """One line per place, for the start-up log."""
    base = base_url.rstrip("/")
    return [f"{what}: {base}{path}" for path, what in PLACES]


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    return web.Response(text=_page(), content_type="text/html")


def _page() -> str:
    items = "\n".join(f"<li>{_place(path)} {escape(what)}</li>" for path, what in PLACES)
    return _TEMPLATE.format(version=escape(__version__), items=items)


def _place(path: str) -> str:
    if path.startswith("/v1/"):  # POST only: a link would answer 405
        return f"<code>POST {escape(path)}</code>"
    return f'<a href="{escape(path)}">{escape(path)}</a>'


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ground Control</title>
<style>
body {{ font: 1rem/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto;
       padding: 0 1rem; color: #1a1a1a; background: #fff; }}
a {{ color: #0645ad; }}
li {{ margin: .4rem 0; }}
</style>
</head>
<body>
<main>
<h1>Ground Control</h1>
<p>A proactive notification gateway: no customer left in the dark. Version {version}.</p>
<h2>Where things are</h2>
<ul>
{items}
</ul>
<p>Quiet hours and held messages: <code>POST /v1/notifications/{{id}}/send-now</code>
(admin token) sends a held message now.</p>
</main>
</body>
</html>
"""
