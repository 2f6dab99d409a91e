"""The channel boundary: what the dispatcher hands an adapter, and what comes back.

An adapter either returns a `Receipt` or raises `TransientDeliveryError` /
`PermanentDeliveryError` (groundcontrol.errors) with the provider's own exception
kept as `__cause__`; no provider exception leaks past its adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from groundcontrol.domain import ChannelName, Customer, RenderedMessage


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: str
    # Stable across retries and crashes: the webhook-id and the Message-ID local part,
    # so receivers can de-duplicate an at-least-once resend.
    message_key: str
    case_id: str
    status: str
    customer: Customer
    channel: ChannelName
    address: str  # e-mail address, E.164 number or webhook URL
    rendered: RenderedMessage
    # Stable per case: emails of one case reference it so mail clients thread them.
    thread_key: str
    unsubscribe_url: str | None = None
    test: bool = False


@dataclass(frozen=True)
class Receipt:
    provider_id: str | None = None  # Twilio SID, SMTP queue id, ...
    detail: str = ""
    segments: int | None = None  # SMS only


class Channel(Protocol):
    name: ChannelName

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, message: OutgoingMessage) -> Receipt: ...
