"""Typed aiohttp application keys: everything `cli.py` builds once and hands down."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from groundcontrol.domain import Clock

if TYPE_CHECKING:  # names used in the AppKey type arguments below
    from collections.abc import Mapping  # noqa: F401

    from groundcontrol.channels.base import Channel  # noqa: F401
    from groundcontrol.channels.smtputf8 import Smtputf8  # noqa: F401
    from groundcontrol.delivery.callbacks import CallbackPoster  # noqa: F401
    from groundcontrol.delivery.dispatcher import Dispatcher  # noqa: F401
    from groundcontrol.delivery.ingestor import Ingestor  # noqa: F401
    from groundcontrol.domain import ChannelName, Event  # noqa: F401
    from groundcontrol.metrics import Metrics  # noqa: F401
    from groundcontrol.planning.journeys import Journeys  # noqa: F401
    from groundcontrol.security import CaseTokens, FormTokens, UnsubscribeTokens  # noqa: F401
    from groundcontrol.settings import Settings  # noqa: F401
    from groundcontrol.store.contract import IngestResult, Store  # noqa: F401
    from groundcontrol.store.templates import TemplateStore  # noqa: F401
    from groundcontrol.subscriptions.supervisor import Subscriptions  # noqa: F401
    from groundcontrol.templates.overrides import PublishedTemplates  # noqa: F401
    from groundcontrol.templates.renderer import Renderer  # noqa: F401


SETTINGS = web.AppKey["Settings"]("settings")
STORE = web.AppKey["Store"]("store")
JOURNEYS = web.AppKey["Journeys"]("journeys")
RENDERER = web.AppKey["Renderer"]("renderer")
CHANNELS = web.AppKey["Mapping[ChannelName, Channel]"]("channels")
# Whether e-mail to a non-ASCII local part can be sent: ingest asks before accepting one.
SMTPUTF8 = web.AppKey["Smtputf8"]("smtputf8")
CLOCK = web.AppKey[Clock]("clock")
# Ingest -> group commit -> plan -> store -> wake (delivery/ingestor.py).
INGESTOR = web.AppKey["Ingestor"]("ingestor")
WAKE = web.AppKey[Callable[[], None]]("wake")
METRICS = web.AppKey["Metrics"]("metrics")
UNSUBSCRIBE = web.AppKey["UnsubscribeTokens"]("unsubscribe")
CASE_TOKENS = web.AppKey["CaseTokens"]("case_tokens")
CASE_FORMS = web.AppKey["FormTokens"]("case_forms")
DISPATCHER = web.AppKey["Dispatcher"]("dispatcher")
# The studio's published-template layer and the store it reads (`Store.templates()`).
PUBLISHED = web.AppKey["PublishedTemplates"]("published_templates")
TEMPLATE_STORE = web.AppKey["TemplateStore"]("template_store")
SUBSCRIPTIONS = web.AppKey["Subscriptions"]("subscriptions")
# Callbacks to the source systems (delivery/callbacks.py).
CALLBACKS = web.AppKey["CallbackPoster"]("callbacks")
