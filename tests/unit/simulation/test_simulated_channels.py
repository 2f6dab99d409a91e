from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from groundcontrol.channels.base import OutgoingMessage
from groundcontrol.domain import Customer, RenderedMessage
from groundcontrol.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from groundcontrol.simulation.channels import (
    ChannelBehaviour,
    ChannelModel,
    Report,
    SimulatedChannel,
    is_unreachable,
    pop_due_reports,
)

NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)


def message(address: str) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id="n_1",
        message_key="msg_1",
        case_id="C-1",
        status="received",
        customer=Customer(id="cust-1"),
        channel="sms",
        address=address,
        rendered=RenderedMessage(text="hi"),
        thread_key="t",
    )


def channel(behaviour: ChannelBehaviour, reports: list[Report]) -> SimulatedChannel:
    return SimulatedChannel("sms", behaviour, random.Random(1), lambda: NOW, reports)


async def test_a_provider_failing_every_time_raises_transient_errors() -> None:
    sms = channel(ChannelBehaviour(failure=1.0), [])

    with pytest.raises(TransientDeliveryError):
        await sms.send(message("+31612345678"))


async def test_an_accepted_message_may_be_reported_undelivered_after_the_latency() -> None:
    reports: list[Report] = []
    sms = channel(ChannelBehaviour(undelivered=1.0, latency=timedelta(seconds=30)), reports)

    receipt = await sms.send(message("+31612345678"))

    assert pop_due_reports(reports, NOW + timedelta(seconds=29)) == []
    [due] = pop_due_reports(reports, NOW + timedelta(seconds=30))
    assert due.provider_id == receipt.provider_id


async def test_addresses_under_invalid_bounce_for_good() -> None:
    email = channel(ChannelBehaviour(), [])

    with pytest.raises(PermanentDeliveryError):
        await email.send(message("ada@bounce.invalid"))
    assert is_unreachable("https://chat.bounce.invalid/hooks/1")
    assert not is_unreachable("https://chat.example.com/hooks/invalid")
    assert not is_unreachable("+31612345678")


def test_channel_options_parse_per_channel() -> None:
    model = ChannelModel.parse(["sms=0.05"], ["sms=0.02"], ["email=2m"])

    assert model.of("sms") == ChannelBehaviour(failure=0.05, undelivered=0.02)
    assert model.of("email").latency == timedelta(minutes=2)
    assert model.of("chat") == ChannelBehaviour()


@pytest.mark.parametrize(
    ("failure", "message_part"),
    [(["fax=0.1"], "CHANNEL one of"), (["sms"], "CHANNEL=VALUE"), (["sms=1.5"], "between 0")],
)
def test_bad_channel_options_say_what_is_wrong(failure: list[str], message_part: str) -> None:
    with pytest.raises(ConfigError, match=message_part):
        ChannelModel.parse(failure)
