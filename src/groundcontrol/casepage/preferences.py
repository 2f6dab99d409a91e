"""The preferences form: one checkbox per channel (`channels`, checked = wanted), one
select per rank (`order`), and the quiet-hours switch (`quiet_hours`). Pure parsing and
the changes it asks of the store; nothing here touches the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from groundcontrol.domain import ChannelName, Customer


class BadForm(ValueError):
    """A form field holds something the page never offered (the field is named)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


@dataclass(frozen=True)
class Preferences:
    wanted: frozenset[ChannelName]
    order: tuple[ChannelName, ...]
    quiet_hours: bool


def offered_channels(customer: Customer) -> tuple[ChannelName, ...]:
    """The channels the page lists: the customer's, where we have an address, in their
    order. (Opted-out ones too: ticking one again is opting back in.)"""
    return tuple(c for c in customer.preferred_channels if customer.address(c))


def current(customer: Customer) -> Preferences:
    offered = offered_channels(customer)
    return Preferences(
        wanted=frozenset(c for c in offered if c not in customer.opted_out),
        order=offered,
        quiet_hours=customer.quiet_hours,
    )


def parse_form(form: Mapping[str, Sequence[str]], offered: Sequence[ChannelName]) -> Preferences:
    """The posted form as Preferences; BadForm names the field that is not as offered."""
    wanted = _channels(form.get("channels", ()), offered, "channels")
    ranked = _channels(form.get("order", ()), offered, "order")
    chosen = list(dict.fromkeys(ranked))  # a channel picked twice counts at its first rank
    order = (*chosen, *(c for c in offered if c not in chosen))
    switch = form.get("quiet_hours", ())
    if any(value != "on" for value in switch) or len(switch) > 1:
        raise BadForm("quiet_hours", "quiet_hours is a checkbox whose value is on")
    return Preferences(frozenset(wanted), order, quiet_hours=bool(switch))


def opt_changes(before: Preferences, after: Preferences) -> list[tuple[ChannelName, bool]]:
    """(channel, opted_out) for every offered channel whose checkbox changed."""
    return [
        (channel, channel not in after.wanted)
        for channel in before.order
        if (channel in before.wanted) != (channel in after.wanted)
    ]


def _channels(
    values: Sequence[str], offered: Sequence[ChannelName], field: str
) -> list[ChannelName]:
    if len(values) > 2 * len(offered):
        raise BadForm(field, f"{field} holds more values than there are channels")
    unknown = [v for v in values if v not in offered]
    if unknown:
        raise BadForm(field, f"{field} names a channel this page does not offer")
    return [cast(ChannelName, v) for v in values]
