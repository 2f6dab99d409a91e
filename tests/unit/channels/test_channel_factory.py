"""Each channel is live when its credentials are configured, the outbox otherwise."""

from __future__ import annotations

from pydantic import SecretStr

from groundcontrol.channels.chat import ChatChannel
from groundcontrol.channels.email import EmailChannel
from groundcontrol.channels.factory import build_channels, describe
from groundcontrol.channels.outbox import OutboxChannel
from groundcontrol.channels.sms import SmsChannel
from groundcontrol.domain import utcnow
from groundcontrol.settings import (
    ChannelSettings,
    ChatSettings,
    EmailSettings,
    Settings,
    SmsSettings,
)


def test_configured_channels_are_live() -> None:
    settings = Settings(
        channels=ChannelSettings(
            email=EmailSettings.model_validate(
                {"host": "smtp.example.com", "from": "Acme <care@acme.test>"}
            ),
            sms=SmsSettings.model_validate(
                {"account_sid": "AC123", "auth_token": "t", "from": "+15005550006"}
            ),
            chat=ChatSettings(signing_secret=SecretStr("whsec_c2VjcmV0")),
        )
    )
    channels = build_channels(settings, utcnow)
    assert isinstance(channels["email"], EmailChannel)
    assert isinstance(channels["sms"], SmsChannel)
    assert isinstance(channels["chat"], ChatChannel)
    assert describe(channels) == "email: live, sms: live, chat: live"


def test_sms_without_a_sender_number_stays_in_the_outbox() -> None:
    settings = Settings(
        channels=ChannelSettings(sms=SmsSettings(account_sid="AC123", auth_token=SecretStr("t")))
    )
    channels = build_channels(settings, utcnow)
    assert isinstance(channels["sms"], OutboxChannel)
    assert describe(channels) == "email: outbox, sms: outbox, chat: outbox"
