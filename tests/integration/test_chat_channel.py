"""ChatChannel against a real aiohttp receiver on 127.0.0.1 (tests/peers/chat_sink.py)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pydantic import SecretStr
from tests.peers.chat_sink import ChatSink, Reply

from groundcontrol import __version__
from groundcontrol.channels.base import OutgoingMessage
from groundcontrol.channels.chat import ChatChannel, build_payload
from groundcontrol.domain import Customer, RenderedMessage
from groundcontrol.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from groundcontrol.settings import ChatSettings
from groundcontrol.signatures import decode_secret, verify

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItY2hhdC10ZXN0cw=="
KEY = decode_secret(SECRET)
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def message(address: str, key: str = "msg-1") -> OutgoingMessage:
    return OutgoingMessage(
        notification_id="n-1",
        message_key=key,
        case_id="C-1001",
        status="received",
        customer=Customer(id="cust-42", chat_webhook=address),
        channel="chat",
        address=address,
        rendered=RenderedMessage(text="We received your address change."),
        thread_key="case-C-1001",
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sink(clock: Clock) -> AsyncIterator[ChatSink]:
    async with ChatSink(signing_key=KEY, now=clock) as running:
        yield running


def make_channel(clock: Clock, *, allow_private: bool, timeout: str = "5s") -> ChatChannel:
    settings = ChatSettings(
        signing_secret=SecretStr(SECRET), timeout=timeout, allow_private_networks=allow_private
    )
    return ChatChannel(settings, now=clock)


@pytest.fixture
async def channel(clock: Clock) -> AsyncIterator[ChatChannel]:
    opened = make_channel(clock, allow_private=True, timeout="500ms")
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
async def guarded(clock: Clock) -> AsyncIterator[ChatChannel]:
    opened = make_channel(clock, allow_private=False)
    await opened.open()
    yield opened
    await opened.close()


async def test_delivers_signed_json_that_verifies_on_the_receiver(
    channel: ChatChannel, sink: ChatSink, clock: Clock
) -> None:
    sent = message(sink.url)
    receipt = await channel.send(sent)

    assert receipt.provider_id == "msg-1"
    assert receipt.detail == "HTTP 200"
    [received] = sink.requests
    assert received.signature_valid is True
    assert verify(KEY, received.headers, received.body, clock()) == "msg-1"
    assert json.loads(received.body) == build_payload(sent)
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["User-Agent"] == f"GroundControl/{__version__}"
    assert received.headers["webhook-timestamp"] == str(int(T0.timestamp()))


async def test_retry_keeps_the_webhook_id_and_refreshes_the_timestamp(
    channel: ChatChannel, sink: ChatSink, clock: Clock
) -> None:
    sink.script(Reply(status=503))
    with pytest.raises(TransientDeliveryError):
        await channel.send(message(sink.url))
    clock.at = T0 + timedelta(seconds=30)
    await channel.send(message(sink.url))

    first, second = sink.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "msg-1"
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert first.body == second.body
    assert second.signature_valid is True


async def test_redirect_is_not_followed(channel: ChatChannel, sink: ChatSink) -> None:
    sink.script(Reply(status=307, location=sink.url_for("/elsewhere")))

    with pytest.raises(PermanentDeliveryError, match="redirects are not followed"):
        await channel.send(message(sink.url))

    assert [received.path for received in sink.requests] == ["/hook"]


async def test_gone_disables_the_address(channel: ChatChannel, sink: ChatSink) -> None:
    sink.script(Reply(status=410))

    with pytest.raises(PermanentDeliveryError) as caught:
        await channel.send(message(sink.url))

    assert caught.value.disable_address


async def test_too_many_requests_honours_retry_after_seconds(
    channel: ChatChannel, sink: ChatSink
) -> None:
    sink.script(Reply(status=429, retry_after="120"))

    with pytest.raises(TransientDeliveryError) as caught:
        await channel.send(message(sink.url))

    assert caught.value.retry_after == timedelta(seconds=120)
    assert not caught.value.outcome_unknown


async def test_unavailable_honours_retry_after_http_date(
    channel: ChatChannel, sink: ChatSink
) -> None:
    sink.script(Reply(status=503, retry_after=format_datetime(T0 + timedelta(minutes=5), True)))

    with pytest.raises(TransientDeliveryError) as caught:
        await channel.send(message(sink.url))

    assert caught.value.retry_after == timedelta(minutes=5)


async def test_server_error_leaves_the_outcome_unknown(
    channel: ChatChannel, sink: ChatSink
) -> None:
    sink.script(Reply(status=500))

    with pytest.raises(TransientDeliveryError) as caught:
        await channel.send(message(sink.url))

    assert caught.value.outcome_unknown
    assert caught.value.retry_after is None


async def test_client_error_is_permanent(channel: ChatChannel, sink: ChatSink) -> None:
    sink.script(Reply(status=404))

    with pytest.raises(PermanentDeliveryError, match="HTTP 404") as caught:
        await channel.send(message(sink.url))

    assert not caught.value.disable_address


async def test_a_hanging_receiver_times_out_within_the_bound(
    channel: ChatChannel, sink: ChatSink
) -> None:
    sink.script(Reply(hang=True))
    started = time.monotonic()

    with pytest.raises(TransientDeliveryError, match=r"no answer within 0\.5s") as caught:
        await channel.send(message(sink.url))

    # Bounded, not hanging: the margin is for a loaded machine, not a speed claim.
    assert 0.5 <= time.monotonic() - started < 5.0
    assert caught.value.outcome_unknown
    assert isinstance(caught.value.__cause__, TimeoutError)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that is bound but not listening: connecting is refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


async def test_connection_refused_is_transient_and_not_delivered(
    channel: ChatChannel, closed_port: int
) -> None:
    with pytest.raises(TransientDeliveryError, match="could not connect") as caught:
        await channel.send(message(f"http://127.0.0.1:{closed_port}/hook"))

    assert not caught.value.outcome_unknown


@pytest.mark.parametrize("address", ["ftp://example.com/hook", "mailto:ops@example.com", "/hook"])
async def test_non_http_url_is_permanent(channel: ChatChannel, address: str) -> None:
    with pytest.raises(PermanentDeliveryError, match="must be http"):
        await channel.send(message(address))


@pytest.mark.parametrize(
    "url_for",
    [
        lambda sink: sink.url_for("/hook"),
        lambda sink: sink.url_for("/hook", host="localhost"),
        lambda sink: sink.url_for("/hook", host="[::ffff:127.0.0.1]"),
    ],
    ids=["ip-literal", "hostname", "ipv4-mapped-literal"],
)
async def test_guard_refuses_the_loopback_and_nothing_arrives(
    guarded: ChatChannel, sink: ChatSink, url_for: Callable[[ChatSink], str]
) -> None:
    with pytest.raises(PermanentDeliveryError, match=r"^refused: .*(loopback|IPv4-mapped)"):
        await guarded.send(message(url_for(sink)))

    assert sink.count == 0


async def test_guard_names_the_host_and_the_address(guarded: ChatChannel, sink: ChatSink) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await guarded.send(message(sink.url_for("/hook", host="localhost")))

    assert str(caught.value) in {
        "refused: localhost resolves to 127.0.0.1, a loopback address",
        "refused: localhost resolves to ::1, a loopback address",
    }


async def test_send_before_open_is_an_error(clock: Clock) -> None:
    with pytest.raises(RuntimeError, match="open"):
        await make_channel(clock, allow_private=True).send(message("http://127.0.0.1:9/hook"))


def test_a_channel_needs_a_signing_secret(clock: Clock) -> None:
    with pytest.raises(ConfigError, match="signing_secret"):
        ChatChannel(ChatSettings(), now=clock)
