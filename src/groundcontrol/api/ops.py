"""Operations endpoints: liveness, readiness and Prometheus metrics. No auth: they
carry no customer data, and probes and scrapers rarely hold tokens."""

from __future__ import annotations

import logging

from aiohttp import web

from groundcontrol import keys
from groundcontrol.api.problems import ProblemError

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is alive and serving HTTP."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready when the store answers; 503 otherwise, so a balancer sends traffic elsewhere.
    Subscriptions are listed with their state but do not decide readiness: a broker
    outage must not take the webhook out of the balancer."""
    try:
        await request.app[keys.STORE].ping()
    except Exception as exc:
        log.warning("readiness check failed: the store does not answer: %s", exc)
        raise ProblemError(503, detail="the store does not answer") from exc
    subscriptions = request.app[keys.SUBSCRIPTIONS].status()
    if not subscriptions:
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "ready", "subscriptions": subscriptions})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition; the notification state gauge is read from the store now."""
    registry, store = request.app[keys.METRICS], request.app[keys.STORE]
    registry.set_states(await store.state_counts())
    registry.set_cases(*await store.thread_counts(request.app[keys.CLOCK]()))
    return web.Response(body=registry.exposition(), headers={"Content-Type": registry.content_type})
