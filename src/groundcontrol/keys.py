"""Typed aiohttp application keys: everything `cli.py` builds once and hands down."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # names used in the AppKey type arguments below
    from collections.abc import Mapping  # noqa: F401

    from groundcontrol.channels.base import Channel  # noqa: F401
    from groundcontrol.dispatch import Dispatcher  # noqa: F401
    from groundcontrol.domain import ChannelName, Event  # noqa: F401
    from groundcontrol.journeys import Journeys  # noqa: F401
    from groundcontrol.metrics import Metrics  # noqa: F401
    from groundcontrol.security import UnsubscribeTokens  # noqa: F401
    from groundcontrol.settings import Settings  # noqa: F401
    from groundcontrol.store.base import IngestResult, Store  # noqa: F401
    from groundcontrol.subscriptions.supervisor import Subscriptions  # noqa: F401
    from groundcontrol.templates import Renderer  # noqa: F401

Clock = Callable[[], datetime]
Ingest = Callable[["Sequence[Event]"], Awaitable["list[IngestResult]"]]

SETTINGS = web.AppKey["Settings"]("settings")
STORE = web.AppKey["Store"]("store")
JOURNEYS = web.AppKey["Journeys"]("journeys")
RENDERER = web.AppKey["Renderer"]("renderer")
CHANNELS = web.AppKey["Mapping[ChannelName, Channel]"]("channels")
CLOCK = web.AppKey[Clock]("clock")
# Records events through the group committer and wakes the dispatcher.
INGEST = web.AppKey[Ingest]("ingest")
WAKE = web.AppKey[Callable[[], None]]("wake")
METRICS = web.AppKey["Metrics"]("metrics")
UNSUBSCRIBE = web.AppKey["UnsubscribeTokens"]("unsubscribe")
DISPATCHER = web.AppKey["Dispatcher"]("dispatcher")
SUBSCRIPTIONS = web.AppKey["Subscriptions"]("subscriptions")
