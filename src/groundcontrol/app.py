"""The aiohttp application factory and `serve`: everything is built once here and
handed down through typed AppKeys; `cleanup_ctx` opens and closes it in order."""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from functools import partial

import jinja2
from aiohttp import web

from groundcontrol import keys, studio
from groundcontrol.api import (
    callbacks,
    cases,
    home,
    ingest,
    openapi,
    ops,
    read,
    twilio_callbacks,
    unsubscribe,
)
from groundcontrol.api.parse_errors import ProblemAppRunner
from groundcontrol.api.problems import problem_middleware
from groundcontrol.api.schemas import validation_context
from groundcontrol.api.storable import storable_middleware
from groundcontrol.casepage import views as case_page
from groundcontrol.channels.factory import build_channels, describe
from groundcontrol.channels.smtputf8 import Smtputf8
from groundcontrol.dashboard import views as dashboard
from groundcontrol.delivery.callbacks import CallbackPoster
from groundcontrol.delivery.decisions import DeliveryPolicies
from groundcontrol.delivery.dispatcher import DispatchConfig, Dispatcher
from groundcontrol.delivery.frequency import FrequencyCap
from groundcontrol.delivery.ingestor import Ingestor
from groundcontrol.delivery.quiet_hours import QuietHours
from groundcontrol.delivery.retry import RetryPolicy
from groundcontrol.delivery.scheduler import Clock
from groundcontrol.delivery.throttle import OutageGuard, RateLimiter
from groundcontrol.domain import utcnow
from groundcontrol.durations import parse_duration
from groundcontrol.metrics import Metrics
from groundcontrol.planning.callbacks import CallbackRoutes
from groundcontrol.planning.journeys import load_journeys
from groundcontrol.security import CaseTokens, FormTokens, UnsubscribeTokens, derive_key
from groundcontrol.settings import DEMO_TOKEN, Settings, is_loopback_host
from groundcontrol.store import create_store
from groundcontrol.store.contract import Store
from groundcontrol.store.retention import run_retention
from groundcontrol.subscriptions.supervisor import Subscriptions
from groundcontrol.templates.freshness import ThrottledFreshness
from groundcontrol.templates.overrides import PublishedTemplates
from groundcontrol.templates.renderer import Renderer

log = logging.getLogger("groundcontrol")

ROUTES = (
    home.routes,
    ingest.routes,
    read.routes,
    cases.routes,
    callbacks.routes,
    dashboard.routes,
    dashboard.static,
    ops.routes,
    openapi.routes,
    unsubscribe.routes,
    twilio_callbacks.routes,
    studio.routes,
    case_page.routes,
)


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    run_dispatcher: bool = True,
) -> web.Application:
    """Build the application. With run_dispatcher=False nothing sends on its own:
    tests drive `app[keys.DISPATCHER].drain()` with an injected clock."""
    app = web.Application(
        middlewares=[problem_middleware, storable_middleware],
        client_max_size=settings.server.max_body_bytes + 1,
    )
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock
    app[keys.JOURNEYS] = load_journeys(settings.journeys.file)
    app[keys.RENDERER] = Renderer(
        _install_overrides(
            app, ThrottledFreshness(jinja2.FileSystemLoader(settings.templates.dir))
        ),
        max_output_chars=settings.templates.max_output_chars,
        default_locale=settings.templates.default_locale,
        max_steps=settings.templates.max_render_steps,
        max_seconds=settings.templates.max_render_seconds,
    )
    app[keys.METRICS] = Metrics()
    app[keys.UNSUBSCRIBE] = UnsubscribeTokens(_link_key(settings, "unsubscribe"))
    app[keys.CASE_TOKENS] = CaseTokens(_link_key(settings, "case-page"))
    app[keys.CASE_FORMS] = FormTokens(_link_key(settings, "case-page-form"))
    app[case_page.LIMITS] = case_page.default_limits()
    app[keys.STORE] = create_store(settings.store.url, pool_size=settings.store.pool_size)
    app[keys.SMTPUTF8] = Smtputf8(settings.channels.email.smtputf8)
    app[keys.CHANNELS] = build_channels(settings, clock, smtputf8=app[keys.SMTPUTF8])
    app[keys.SUBSCRIPTIONS] = Subscriptions.from_settings(settings.subscriptions, app[keys.METRICS])
    for table in ROUTES:
        app.router.add_routes(table)
    app[keys.CALLBACKS] = _callback_poster(settings, clock)
    app[keys.STORE].route_callbacks(_callback_routes(settings))
    app.cleanup_ctx.extend(
        [
            _store_ctx,
            _overrides_ctx,
            _channels_ctx,
            _callbacks_ctx,
            partial(_dispatch_ctx, run=run_dispatcher),
            _subscriptions_ctx,  # stops first: its last batches still commit
        ]
    )
    return app


def _link_key(settings: Settings, purpose: str) -> bytes:
    secret = settings.server.secret_key or settings.admin.token
    if secret is None:
        log.warning(
            "neither server.secret_key nor admin.token is set: %s links stop working at restart",
            purpose,
        )
        return secrets.token_bytes(32)
    return derive_key(secret.get_secret_value(), purpose)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[keys.STORE].open()
    yield
    await app[keys.STORE].close()


def _callback_routes(settings: Settings) -> CallbackRoutes:
    return CallbackRoutes(
        {
            name: frozenset(source.callback_events)
            for name, source in settings.sources.items()
            if source.callback_url
        }
    )


def _callback_poster(settings: Settings, clock: Callable[[], datetime]) -> CallbackPoster:
    delivery = settings.delivery
    return CallbackPoster(
        settings.sources,
        RetryPolicy.from_settings(delivery),
        clock=clock,
        timeout=delivery.duration("send_timeout"),
        breaker=OutageGuard(
            threshold=delivery.breaker_threshold,
            cool_down=delivery.duration("breaker_cool_down"),
            max_cool_down=delivery.duration("breaker_max_cool_down"),
        ),
    )


async def _callbacks_ctx(app: web.Application) -> AsyncIterator[None]:
    poster = app[keys.CALLBACKS]
    await poster.open()
    yield
    await poster.close()


async def _channels_ctx(app: web.Application) -> AsyncIterator[None]:
    channels = app[keys.CHANNELS]
    for channel in channels.values():
        await channel.open()
    log.info("channels: %s", describe(channels))
    yield
    for channel in channels.values():
        await channel.close()


def _policies(settings: Settings) -> DeliveryPolicies:
    return DeliveryPolicies(
        retry=RetryPolicy.from_settings(settings.delivery),
        quiet_hours=QuietHours.from_settings(settings.quiet_hours),
        cap=FrequencyCap.from_settings(settings.limits),
    )


def _dispatcher(app: web.Application) -> Dispatcher:
    settings = app[keys.SETTINGS]
    delivery = settings.delivery
    return Dispatcher(
        store=app[keys.STORE],
        channels=app[keys.CHANNELS],
        renderer=app[keys.RENDERER],
        policies=_policies(settings),
        tokens=app[keys.UNSUBSCRIBE],
        metrics=app[keys.METRICS],
        clock=app[keys.CLOCK],
        config=DispatchConfig(
            concurrency=delivery.concurrency,
            lease=delivery.duration("lease"),
            send_timeout=delivery.duration("send_timeout"),
            public_url=settings.server.public_url,
            default_locale=settings.templates.default_locale,
            breaker=OutageGuard(
                threshold=delivery.breaker_threshold,
                cool_down=delivery.duration("breaker_cool_down"),
                max_cool_down=delivery.duration("breaker_max_cool_down"),
            ),
        ),
        limiter=RateLimiter(delivery.retry_rate, burst=max(1, int(delivery.retry_rate))),
        case_tokens=app[keys.CASE_TOKENS],
        callbacks=app[keys.CALLBACKS] if app[keys.CALLBACKS].any else None,
    )


async def _dispatch_ctx(app: web.Application, *, run: bool) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    dispatcher = _dispatcher(app)
    ingestor = Ingestor(
        app[keys.STORE],
        app[keys.JOURNEYS],
        app[keys.CLOCK],
        dispatcher.wake,
        quiet=dispatcher.policies.quiet_hours.window_around,
        metrics=app[keys.METRICS],
    )
    app[keys.DISPATCHER] = dispatcher
    app[keys.WAKE] = dispatcher.wake
    app[keys.INGESTOR] = ingestor
    ingestor.start()
    await _release_quiet_deferrals(app)
    clock, runner = await _start_dispatch(app, dispatcher, run)
    yield
    clock.stop()
    await dispatcher.stop(parse_duration(settings.server.shutdown_grace))
    if runner is not None:
        await asyncio.gather(runner, return_exceptions=True)
    await ingestor.stop()


async def _release_quiet_deferrals(app: web.Application) -> None:
    """Quiet hours switched off since messages were held for them: they go now."""
    if app[keys.SETTINGS].quiet_hours.enabled:
        return
    released = await app[keys.STORE].release_quiet_deferrals(app[keys.CLOCK]())
    if released:
        log.info("quiet hours are off: released %d message(s) they were holding", released)


async def _subscriptions_ctx(app: web.Application) -> AsyncIterator[None]:
    subscriptions = app[keys.SUBSCRIPTIONS]
    smtputf8 = app[keys.SMTPUTF8]
    subscriptions.start(
        app[keys.INGESTOR].ingest_each,
        lambda: validation_context(smtputf8=smtputf8.accepted),
    )
    yield
    grace = parse_duration(app[keys.SETTINGS].server.shutdown_grace)
    await subscriptions.stop(grace.total_seconds())


def freeze_start_up() -> None:
    """Start-up's objects (modules, templates, settings, compiled statements) live as
    long as the process: move them out of the collector's generations, so that the
    full collections ingest's allocations trigger stop walking them (cProfile showed
    it under load). Only `serve` does it, once: a process that builds many apps (the
    tests) would freeze each one's garbage, and the full collection after an unfreeze
    walked all of it inside whatever ran next (a render then over its CPU budget)."""
    gc.collect()  # garbage is not start-up state: do not keep it forever
    gc.freeze()


async def _start_dispatch(
    app: web.Application, dispatcher: Dispatcher, run: bool
) -> tuple[Clock, asyncio.Task[None] | None]:
    clock = Clock()
    if not run:
        return clock, None
    store = app[keys.STORE]
    await store.listen(dispatcher.wake)
    clock.every(
        app[keys.SETTINGS].delivery.duration("poll_interval"), dispatcher.wake, "wake-dispatcher"
    )
    _schedule_retention(app, clock)
    clock.start()
    return clock, asyncio.create_task(dispatcher.run(idle_wait=30.0), name="dispatcher")


def _schedule_retention(app: web.Application, clock: Clock) -> None:
    store, days = app[keys.STORE], app[keys.SETTINGS].retention.days
    if days:
        sweep = partial(_sweep_old_rows, store, days, app[keys.CLOCK])
        clock.daily(app[keys.SETTINGS].retention.hour, sweep, "retention")


async def _sweep_old_rows(store: Store, days: int, clock: Callable[[], datetime]) -> None:
    # On PostgreSQL every instance schedules this; an advisory lock lets one of them run it.
    try:
        report = await run_retention(store, days, clock())
    except Exception:
        log.exception("retention sweep failed; the next one runs tomorrow")
        return
    if report is not None:
        log.info("retention: deleted %s", report)


def warn_about_demo_token(settings: Settings) -> None:
    demo = [
        name
        for name, s in settings.sources.items()
        if s.token and s.token.get_secret_value() == DEMO_TOKEN
    ]
    if demo and not is_loopback_host(settings.server.host):
        bar = "!" * 78
        log.warning(
            "\n%s\n  source(s) %s use the PUBLIC DEMO TOKEN while listening on %s.\n"
            "  Anyone can post events. Set sources.<name>.token to a secret value.\n%s",
            bar,
            ", ".join(demo),
            settings.server.host,
            bar,
        )


def warn_about_lease(settings: Settings) -> None:
    delivery = settings.delivery
    if delivery.duration("send_timeout") >= delivery.duration("lease"):
        # A send still running when its lease expires is claimed again: the receiver
        # gets it twice with no crash at all. Fencing keeps the store right, not the phone.
        log.warning(
            "delivery.send_timeout (%s) is not shorter than delivery.lease (%s): "
            "slow sends can be duplicated",
            delivery.send_timeout,
            delivery.lease,
        )


def _base_url(addresses: Sequence[object], settings: Settings) -> str:
    """The first address served, as a URL a person on this machine can open."""
    if not addresses or not isinstance(addresses[0], tuple):
        return settings.server.public_url
    host, port = addresses[0][:2]
    return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"


async def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully and return."""
    warn_about_demo_token(settings)
    warn_about_lease(settings)
    app = create_app(settings)
    runner = ProblemAppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.server.host, settings.server.port)
    await site.start()
    freeze_start_up()
    for address in runner.addresses:
        log.info("listening on http://%s:%s", *address[:2])
    for line in home.where_things_are(_base_url(runner.addresses, settings)):
        log.info("%s", line)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: finishing in-flight sends")
    await runner.cleanup()
    log.info("stopped")


def _install_overrides(app: web.Application, files: jinja2.BaseLoader) -> jinja2.BaseLoader:
    """Put the published-override layer in front of `files`; the loader to render with."""
    published = PublishedTemplates(files)
    app[keys.PUBLISHED] = published
    return published.loader


async def _overrides_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx step (after the store opened): load and follow published overrides."""
    templates = app[keys.STORE].templates()
    app[keys.TEMPLATE_STORE] = templates
    published = app[keys.PUBLISHED]
    published.on_refresh(app[keys.RENDERER].clear_cache)
    await published.start(templates)
    yield
    await published.stop()
