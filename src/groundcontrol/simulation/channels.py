"""Simulated providers: `Channel`s that answer like a real one would, on the virtual clock.

A send fails for now (`failure` rate: a provider 5xx, retried by the dispatcher's own
policy) or is accepted; an accepted one may later be reported undelivered (`undelivered`
rate) by a provider callback `latency` after the send, which the runner replays through
the store as the Twilio callback handler does. Addresses under the reserved `.invalid`
top-level domain (RFC 2606) bounce for good: that is how a history marks a customer
the channel cannot reach.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from yarl import URL

from groundcontrol.channels.base import OutgoingMessage, Receipt
from groundcontrol.domain import CHANNELS, ChannelName
from groundcontrol.durations import parse_duration
from groundcontrol.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError

UNREACHABLE_TLD = ".invalid"
_report_numbers = itertools.count()  # ties between reports due at once keep send order


@dataclass(frozen=True)
class ChannelBehaviour:
    """How one simulated provider behaves."""

    failure: float = 0.0  # share of attempts that fail for now
    undelivered: float = 0.0  # share of accepted messages later reported undelivered
    latency: timedelta = timedelta(0)  # from accepting a message to its delivery report


@dataclass(frozen=True)
class ChannelModel:
    """The behaviour of every simulated channel (the same for all when not given)."""

    behaviours: Mapping[ChannelName, ChannelBehaviour] = field(default_factory=dict)

    def of(self, channel: ChannelName) -> ChannelBehaviour:
        return self.behaviours.get(channel, ChannelBehaviour())

    @classmethod
    def parse(
        cls,
        failure: Sequence[str] = (),
        undelivered: Sequence[str] = (),
        latency: Sequence[str] = (),
    ) -> ChannelModel:
        """From `sms=0.05`-style options; a ConfigError names the bad one."""
        values: dict[ChannelName, dict[str, Any]] = {}
        for option, key, texts, convert in (
            ("--channel-failure", "failure", failure, _rate),
            ("--undelivered", "undelivered", undelivered, _rate),
            ("--latency", "latency", latency, parse_duration),
        ):
            for text in texts:
                channel, value = _assignment(option, text, convert)
                values.setdefault(channel, {})[key] = value
        return cls({c: ChannelBehaviour(**v) for c, v in values.items()})


def _assignment(option: str, text: str, convert: Callable[[str], Any]) -> tuple[ChannelName, Any]:
    name, sep, value = text.partition("=")
    channel = next((c for c in CHANNELS if c == name), None)
    if not sep or channel is None:
        choices = ", ".join(CHANNELS)
        raise ConfigError(f"{option} {text!r}: use CHANNEL=VALUE, CHANNEL one of {choices}")
    try:
        return channel, convert(value)
    except ValueError as exc:
        raise ConfigError(f"{option} {text!r}: {exc}") from None


def _rate(text: str) -> float:
    rate = float(text)
    if not 0.0 <= rate <= 1.0:
        raise ValueError("a rate is between 0 and 1")
    return rate


@dataclass(order=True, frozen=True)
class Report:
    """A provider's delivery report, due on the virtual clock."""

    at: datetime
    sequence: int
    provider_id: str = field(compare=False)


class SimulatedChannel:
    """A `Channel` whose provider is a seeded random model on the virtual clock."""

    def __init__(
        self,
        name: ChannelName,
        behaviour: ChannelBehaviour,
        rng: random.Random,
        clock: Callable[[], datetime],
        reports: list[Report],
    ) -> None:
        self.name: ChannelName = name
        self.behaviour = behaviour
        self._rng = rng
        self._clock = clock
        self._reports = reports  # a heap shared by the channels of one run
        self._accepted = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, message: OutgoingMessage) -> Receipt:
        if is_unreachable(message.address):
            raise PermanentDeliveryError(f"{self.name}: {message.address} does not exist")
        if self._rng.random() < self.behaviour.failure:
            raise TransientDeliveryError(f"{self.name}: simulated provider failure")
        self._accepted += 1
        provider_id = f"sim-{self.name}-{message.notification_id}"
        if self._rng.random() < self.behaviour.undelivered:
            at = self._clock() + self.behaviour.latency
            heapq.heappush(self._reports, Report(at, next(_report_numbers), provider_id))
        return Receipt(provider_id=provider_id, detail="accepted by the simulated provider")


def is_unreachable(address: str) -> bool:
    """An e-mail address or webhook URL under the `.invalid` top-level domain."""
    host = address.rpartition("@")[2] if "://" not in address else (URL(address).host or "")
    return host.lower().rstrip(".").endswith(UNREACHABLE_TLD)


def next_report_at(reports: list[Report]) -> datetime | None:
    return reports[0].at if reports else None


def pop_due_reports(reports: list[Report], now: datetime) -> list[Report]:
    due = []
    while reports and reports[0].at <= now:
        due.append(heapq.heappop(reports))
    return due
