"""The ops dashboard's pages, server-rendered, behind the studio's sign-in.

`/ops`: the golden thread now (open, breached, dark p50/p95/max by status and source),
the darkest open cases, deliveries by channel and outcome, dead letters with re-drive,
events without a rule. `/ops/cases/{id}`: one case's timeline drawn as a line. Plain
HTML forms and links: everything works without JavaScript; where it runs, ops.js
reloads the overview every 30 s.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from groundcontrol import keys
from groundcontrol.dashboard.case_line import dark_stretches, draw
from groundcontrol.domain import NotificationState
from groundcontrol.store.case_views import CaseFilter
from groundcontrol.store.contract import NotificationFilter
from groundcontrol.studio.auth import studio_page
from groundcontrol.studio.session import csrf_token, current_session, studio_key
from groundcontrol.studio.views import SECURITY_HEADERS

STATIC = Path(__file__).parent / "static"
WINDOW = timedelta(days=7)

routes = web.RouteTableDef()

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("groundcontrol.dashboard", "pages"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    session = current_session(request)
    key = studio_key(request)
    csrf = csrf_token(key, session.nonce) if session and key else ""
    html = _ENV.get_template(template).render(
        csrf=csrf, who=session.who if session else None, **context
    )
    return web.Response(
        text=html, status=status, content_type="text/html", headers=SECURITY_HEADERS
    )


def _duration(seconds: float | None) -> str:
    """Dark seconds as an operator reads them: 3d 4h, 5h 12m, 40s."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


_ENV.filters["dark"] = _duration


@routes.get("/ops")
@studio_page
async def overview(request: web.Request) -> web.Response:
    store, now = request.app[keys.STORE], request.app[keys.CLOCK]()
    darkest = await store.list_cases(CaseFilter(open=True, limit=15), now)
    dead = await store.list_notifications(NotificationFilter(NotificationState.DEAD, limit=20))
    return _page(
        request,
        "overview.html",
        now=now,
        summary=await store.golden_thread(now, WINDOW),
        darkest=[view.public_dict(now) for view in darkest.items],
        deliveries=_deliveries(await store.delivery_counts()),
        dead=dead,
        dead_callbacks=await store.list_callbacks("dead", 20),
        no_rule=await store.statuses_without_rule(20),
        done=request.query.get("done", ""),
    )


def _deliveries(counts: dict[tuple[str, str], int]) -> dict[str, Any]:
    channels = sorted({channel for channel, _ in counts})
    states = [s.value for s in NotificationState if any(st == s.value for _, st in counts)]
    return {"channels": channels, "states": states, "counts": counts}


@routes.get("/ops/cases/{case_id}")
@studio_page
async def case_page(request: web.Request) -> web.Response:
    store, now = request.app[keys.STORE], request.app[keys.CLOCK]()
    case_id = request.match_info["case_id"]
    view = await store.get_case(case_id)
    entries = await store.timeline(case_id)
    if view is None or entries is None:
        return _page(request, "missing.html", 404, case_id=case_id)
    return _page(
        request,
        "case.html",
        now=now,
        case=view.public_dict(now),
        line=Markup(draw(entries, view, now)),  # case_line escapes every text it draws
        stretches=dark_stretches(entries, view, now),
        entries=entries,
    )


@routes.post("/ops/dead/{notification_id}/retry")
@studio_page
async def redrive_notification(request: web.Request) -> web.StreamResponse:
    nid = request.match_info["notification_id"]
    done = await request.app[keys.STORE].redrive(nid, request.app[keys.CLOCK]())
    if done:
        request.app[keys.WAKE]()
    raise web.HTTPSeeOther(f"/ops?done={'redriven' if done else 'not-dead'}#dead")


@routes.post("/ops/callbacks/{callback_id}/retry")
@studio_page
async def redrive_callback(request: web.Request) -> web.StreamResponse:
    cid = request.match_info["callback_id"]
    done = await request.app[keys.STORE].redrive_callback(cid, request.app[keys.CLOCK]())
    if done:
        request.app[keys.WAKE]()
    raise web.HTTPSeeOther(f"/ops?done={'redriven' if done else 'not-dead'}#dead")


static = [web.static("/ops/static", STATIC)]
