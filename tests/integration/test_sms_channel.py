"""SmsChannel driving the real twilio SDK against the fake Twilio on loopback."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.peers.twilio_peer import TwilioPeer

from groundcontrol.channels.base import OutgoingMessage
from groundcontrol.channels.sms import SmsChannel
from groundcontrol.domain import Customer, RenderedMessage
from groundcontrol.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from groundcontrol.settings import SmsSettings

CALLBACK_URL = "https://gc.example.com/v1/callbacks/twilio/status"
SENDER = "+15005550006"
RECIPIENT = "+31612345678"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def sms_settings(peer: TwilioPeer, **overrides: object) -> SmsSettings:
    values: dict[str, object] = {
        "account_sid": peer.account_sid,
        "auth_token": peer.auth_token,
        "from": SENDER,
        "api_base_url": peer.base_url,
        "timeout": "2s",
    }
    return SmsSettings.model_validate({**values, **overrides})


def outgoing(text: str = "Your address change is received.") -> OutgoingMessage:
    return OutgoingMessage(
        notification_id="n-1",
        message_key="k-1",
        case_id="C-1",
        status="received",
        customer=Customer(id="cust-1", phone=RECIPIENT),
        channel="sms",
        address=RECIPIENT,
        rendered=RenderedMessage(text=text),
        thread_key="t-1",
    )


@pytest.fixture
async def peer() -> AsyncIterator[TwilioPeer]:
    async with TwilioPeer() as running:
        yield running


@pytest.fixture
async def channel(peer: TwilioPeer) -> AsyncIterator[SmsChannel]:
    sms = SmsChannel(sms_settings(peer), CALLBACK_URL, clock=lambda: NOW)
    await sms.open()
    yield sms
    await sms.close()


async def test_sends_through_the_sdk_with_the_status_callback(
    peer: TwilioPeer, channel: SmsChannel
) -> None:
    receipt = await channel.send(outgoing("Case C-1: received. We'll keep you posted."))

    [message] = peer.messages
    assert (message.to, message.from_) == (RECIPIENT, SENDER)
    assert message.body == "Case C-1: received. We'll keep you posted."
    assert message.status_callback == CALLBACK_URL
    assert receipt.provider_id == message.sid
    assert receipt.provider_id.startswith("SM")
    assert (receipt.segments, receipt.detail) == (1, "queued")


async def test_receipt_counts_segments_of_the_body(channel: SmsChannel) -> None:
    receipt = await channel.send(outgoing("ł" * 71))
    assert receipt.segments == 2


async def test_empty_body_is_refused_without_calling_twilio(
    peer: TwilioPeer, channel: SmsChannel
) -> None:
    with pytest.raises(PermanentDeliveryError, match="empty"):
        await channel.send(outgoing(""))
    assert peer.requests == 0


@pytest.mark.parametrize("code", [21211, 21614, 21635, 21608])
async def test_permanent_twilio_codes(peer: TwilioPeer, channel: SmsChannel, code: int) -> None:
    peer.fail_next(status=400, code=code, message="refused")
    with pytest.raises(PermanentDeliveryError) as caught:
        await channel.send(outgoing())
    assert str(code) in str(caught.value)
    assert not caught.value.opt_out
    assert caught.value.__cause__ is not None
    assert peer.requests == 1


async def test_recipient_who_replied_stop_is_an_opt_out(
    peer: TwilioPeer, channel: SmsChannel
) -> None:
    peer.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    with pytest.raises(PermanentDeliveryError) as caught:
        await channel.send(outgoing())
    assert caught.value.opt_out


async def test_rfc9457_error_bodies_are_classified_too(
    peer: TwilioPeer, channel: SmsChannel
) -> None:
    peer.fail_next(status=400, code=21211, message="Invalid 'To'", problem=True)
    with pytest.raises(PermanentDeliveryError, match="21211"):
        await channel.send(outgoing())


async def test_other_client_errors_are_permanent(peer: TwilioPeer, channel: SmsChannel) -> None:
    peer.fail_next(status=400, code=21602, message="Message body is required")
    with pytest.raises(PermanentDeliveryError, match="21602"):
        await channel.send(outgoing())


async def test_wrong_credentials_are_permanent(peer: TwilioPeer) -> None:
    sms = SmsChannel(sms_settings(peer, auth_token="wrong"), CALLBACK_URL)
    await sms.open()
    try:
        with pytest.raises(PermanentDeliveryError, match="20003"):
            await sms.send(outgoing())
    finally:
        await sms.close()


async def test_rate_limit_honours_retry_after_seconds(
    peer: TwilioPeer, channel: SmsChannel
) -> None:
    peer.fail_next(status=429, code=20429, message="Too Many Requests", retry_after="17")
    with pytest.raises(TransientDeliveryError) as caught:
        await channel.send(outgoing())
    assert caught.value.retry_after == timedelta(seconds=17)
    assert not caught.value.outcome_unknown


async def test_rate_limit_honours_retry_after_date(peer: TwilioPeer, channel: SmsChannel) -> None:
    peer.fail_next(status=429, retry_after="Sun, 22 Nov 2026 10:02:00 GMT")
    with pytest.raises(TransientDeliveryError) as caught:
        await channel.send(outgoing())
    assert caught.value.retry_after == timedelta(minutes=2)


async def test_rate_limit_without_retry_after(peer: TwilioPeer, channel: SmsChannel) -> None:
    peer.fail_next(status=429, code=20429)
    with pytest.raises(TransientDeliveryError) as caught:
        await channel.send(outgoing())
    assert caught.value.retry_after is None


async def test_retry_after_of_one_send_does_not_leak_into_the_next(
    peer: TwilioPeer, channel: SmsChannel
) -> None:
    peer.fail_next(status=429, retry_after="30")
    peer.fail_next(status=429)
    with pytest.raises(TransientDeliveryError):
        await channel.send(outgoing())
    with pytest.raises(TransientDeliveryError) as caught:
        await channel.send(outgoing())
    assert caught.value.retry_after is None


async def test_concurrent_sends_each_see_their_own_retry_after(
    peer: TwilioPeer, channel: SmsChannel
) -> None:
    peer.fail_next(status=429, retry_after="30")
    peer.fail_next(status=429)
    results = await asyncio.gather(
        channel.send(outgoing()), channel.send(outgoing()), return_exceptions=True
    )
    waits = [getattr(r, "retry_after", "not raised") for r in results]
    assert set(waits) == {None, timedelta(seconds=30)}


@pytest.mark.parametrize("problem", [False, True])
async def test_server_error_is_outcome_unknown_and_posted_once(
    peer: TwilioPeer, channel: SmsChannel, caplog: pytest.LogCaptureFixture, problem: bool
) -> None:
    peer.fail_next(status=500, code=20500, message="Internal Server Error", problem=problem)
    with caplog.at_level(logging.WARNING), pytest.raises(TransientDeliveryError) as caught:
        await channel.send(outgoing())
    assert caught.value.outcome_unknown
    assert peer.requests == 1  # the SDK's own retries would have POSTed again
    assert "possible duplicate" in caplog.text


async def test_non_json_gateway_error_is_outcome_unknown(
    peer: TwilioPeer, channel: SmsChannel
) -> None:
    peer.fail_next(status=502, raw_body="<html>Bad Gateway</html>")
    with pytest.raises(TransientDeliveryError) as caught:
        await channel.send(outgoing())
    assert caught.value.outcome_unknown
    assert peer.requests == 1


async def test_unreadable_success_reply_is_outcome_unknown(
    peer: TwilioPeer, channel: SmsChannel
) -> None:
    peer.fail_next(status=201, raw_body="accepted, probably")
    with pytest.raises(TransientDeliveryError) as caught:
        await channel.send(outgoing())
    assert caught.value.outcome_unknown


async def test_hang_is_bounded_by_our_timeout(peer: TwilioPeer) -> None:
    sms = SmsChannel(sms_settings(peer, timeout="300ms"), CALLBACK_URL)
    await sms.open()
    peer.hang_next()
    started = time.monotonic()
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await sms.send(outgoing())
    finally:
        await sms.close()
    # Bounded, not hanging: the margin is for a loaded machine, not a speed claim.
    assert 0.3 <= time.monotonic() - started < 5
    assert caught.value.outcome_unknown
    assert peer.requests == 1


async def test_connection_refused_is_transient_and_known_unsent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = SmsSettings.model_validate(
        {
            "account_sid": "AC" + "1" * 32,
            "auth_token": "token",
            "from": SENDER,
            "api_base_url": f"http://127.0.0.1:{port}",
        }
    )
    sms = SmsChannel(settings, CALLBACK_URL)
    await sms.open()
    try:
        with pytest.raises(TransientDeliveryError, match="cannot connect") as caught:
            await sms.send(outgoing())
    finally:
        await sms.close()
    assert not caught.value.outcome_unknown


async def test_twilio_region_in_the_environment_does_not_redirect(
    peer: TwilioPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    sms = SmsChannel(sms_settings(peer), CALLBACK_URL)
    await sms.open()
    try:
        await sms.send(outgoing())
    finally:
        await sms.close()
    assert len(peer.messages) == 1


def test_unreadable_timeout_is_a_config_error(peer: TwilioPeer) -> None:
    with pytest.raises(ConfigError, match=r"channels\.sms\.timeout"):
        SmsChannel(sms_settings(peer, timeout="soon"), CALLBACK_URL)


def test_incomplete_settings_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="account_sid, auth_token and from"):
        SmsChannel(SmsSettings(account_sid="AC1"), CALLBACK_URL)
