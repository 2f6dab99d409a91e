"""Typed aiohttp application keys: everything `cli.py` builds once and hands down."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from groundcontrol.channels.base import Channel
    from groundcontrol.dispatch import Dispatcher
    from groundcontrol.domain import ChannelName, Event
    from groundcontrol.journeys import Journeys
    from groundcontrol.metrics import Metrics
    from groundcontrol.security import UnsubscribeTokens
    from groundcontrol.settings import Settings
    from groundcontrol.store.base import IngestResult, Store
    from groundcontrol.templates import Renderer

Clock = Callable[[], datetime]
Ingest = Callable[["Sequence[Event]"], Awaitable["list[IngestResult]"]]

SETTINGS = web.AppKey["Settings"]("settings")
STORE = web.AppKey["Store"]("store")
JOURNEYS = web.AppKey["Journeys"]("journeys")
RENDERER = web.AppKey["Renderer"]("renderer")
CHANNELS = web.AppKey["dict[ChannelName, Channel]"]("channels")
CLOCK = web.AppKey[Clock]("clock")
# Records events through the group committer and wakes the dispatcher.
INGEST = web.AppKey[Ingest]("ingest")
WAKE = web.AppKey[Callable[[], None]]("wake")
METRICS = web.AppKey["Metrics"]("metrics")
UNSUBSCRIBE = web.AppKey["UnsubscribeTokens"]("unsubscribe")
DISPATCHER = web.AppKey["Dispatcher"]("dispatcher")
