"""Send a draft to an address of the marketer's choice through the real channel.

The message is marked `test=True` (the chat payload carries it) and recorded on
the timeline of the synthetic case `studio-test-<template name>`, so test sends
are visible like any other message but never mix with a customer's case.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import datetime

from groundcontrol.channels.base import Channel, OutgoingMessage, Receipt
from groundcontrol.delivery.dispatcher import thread_key
from groundcontrol.domain import Customer, RenderedMessage
from groundcontrol.errors import DeliveryError
from groundcontrol.store.templates import TEST_CASE_PREFIX, TemplateKey, TemplateStore
from groundcontrol.templates.context import Sample

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")


class BadAddress(ValueError):
    """The address does not suit the channel."""


def check_address(key: TemplateKey, address: str) -> str:
    """The address, stripped, when it suits the template's channel; BadAddress otherwise."""
    address = address.strip()
    if key.channel == "email" and not _EMAIL.match(address):
        raise BadAddress("enter an e-mail address, like you@example.com")
    if key.channel == "sms":
        address = re.sub(r"[\s()-]", "", address)
        if not _PHONE.match(address):
            raise BadAddress("enter a phone number in international form, like +31612345678")
    if key.channel == "chat" and not address.startswith(("https://", "http://")):
        raise BadAddress("enter the chat webhook URL, starting with https://")
    return address


async def send_test(
    *,
    channel: Channel,
    store: TemplateStore,
    key: TemplateKey,
    rendered: RenderedMessage,
    sample: Sample,
    address: str,
    who: str,
    now: datetime,
) -> Receipt:
    """Send one test message and record it; the channel's DeliveryError is re-raised
    after the failure is recorded too."""
    message = _message(key, rendered, sample, address)
    detail = {"template": key.file, "address": address, "by": who, "sample": sample.name}
    try:
        receipt = await channel.send(message)
    except DeliveryError as exc:
        await store.record_test_send(key, now, "test_failed", {**detail, "error": str(exc)})
        raise
    sent = {**detail, "provider_id": receipt.provider_id, "detail": receipt.detail}
    await store.record_test_send(key, now, "test_sent", sent)
    return receipt


def _message(
    key: TemplateKey, rendered: RenderedMessage, sample: Sample, address: str
) -> OutgoingMessage:
    case_id = f"{TEST_CASE_PREFIX}{key.name}"
    test_id = f"{TEST_CASE_PREFIX}{uuid.uuid4().hex[:16]}"
    return OutgoingMessage(
        notification_id=test_id,
        message_key=test_id,
        case_id=case_id,
        status=sample.case.status,
        customer=_addressed(sample.customer, key, address),
        channel=key.channel,
        address=address,
        rendered=rendered,
        thread_key=thread_key(case_id),
        test=True,
    )


def _addressed(customer: Customer, key: TemplateKey, address: str) -> Customer:
    if key.channel == "email":
        return replace(customer, email=address)
    if key.channel == "sms":
        return replace(customer, phone=address)
    return replace(customer, chat_webhook=address)
