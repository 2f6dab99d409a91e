"""Build each channel from settings: the real provider when configured, else the outbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from groundcontrol.channels.base import Channel
from groundcontrol.channels.outbox import OutboxChannel
from groundcontrol.channels.smtputf8 import Smtputf8
from groundcontrol.domain import ChannelName
from groundcontrol.links import status_callback_url
from groundcontrol.settings import Settings


def build_channels(
    settings: Settings, clock: Callable[[], datetime], *, smtputf8: Smtputf8 | None = None
) -> dict[ChannelName, Channel]:
    """`smtputf8`, when given, is what the SMTP channel tells what its relay offers."""
    return {
        "email": _email(settings, smtputf8 or Smtputf8(settings.channels.email.smtputf8)),
        "sms": _sms(settings, clock),
        "chat": _chat(settings, clock),
    }


def describe(channels: Mapping[ChannelName, Channel]) -> str:
    return ", ".join(
        f"{name}: {'outbox' if isinstance(ch, OutboxChannel) else 'live'}"
        for name, ch in channels.items()
    )


def _email(settings: Settings, smtputf8: Smtputf8) -> Channel:
    email = settings.channels.email
    if email.host:
        from groundcontrol.channels.email import EmailChannel

        return EmailChannel(email, smtputf8=smtputf8)
    return OutboxChannel("email", settings.delivery.outbox_dir, sender=email.from_)


def _sms(settings: Settings, clock: Callable[[], datetime]) -> Channel:
    sms = settings.channels.sms
    if sms.account_sid and sms.auth_token and sms.from_:
        from groundcontrol.channels.sms import SmsChannel

        callback = status_callback_url(settings.server.public_url)
        return SmsChannel(sms, callback, clock=clock)
    return OutboxChannel("sms", settings.delivery.outbox_dir, sms_from=sms.from_)


def _chat(settings: Settings, clock: Callable[[], datetime]) -> Channel:
    chat = settings.channels.chat
    if chat.signing_secret is not None:
        from groundcontrol.channels.chat import ChatChannel

        return ChatChannel(chat, now=clock)
    return OutboxChannel("chat", settings.delivery.outbox_dir)
