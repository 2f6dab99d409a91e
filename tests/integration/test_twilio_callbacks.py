"""Twilio status and inbound callbacks over a real socket, signed as Twilio signs them."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from aiohttp import ClientSession, web
from tests.peers.twilio_peer import (
    AUTH_TOKEN,
    ReceivedMessage,
    TwilioPeer,
    post_signed,
    send_inbound,
    sign,
)

from groundcontrol import keys
from groundcontrol.api.twilio_callbacks import (
    INBOUND_PATH,
    STATUS_PATH,
    routes,
)
from groundcontrol.domain import ChannelName, Customer, NotificationState
from groundcontrol.links import status_callback_url
from groundcontrol.settings import Settings
from groundcontrol.store.contract import Store

PUBLIC_URL = "https://gc.example.com"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
PHONE = "+31612345678"
HELP_REPLY = "Ground Control <updates> & news. Reply STOP to opt out."


@dataclass
class FakeStore:
    """The three store methods the callbacks use, recording every call."""

    customers: list[Customer] = field(default_factory=list)
    statuses: list[tuple[str, NotificationState, str, datetime]] = field(default_factory=list)
    opt_outs: list[tuple[str, ChannelName, bool, str, datetime]] = field(default_factory=list)

    async def record_provider_status(
        self, provider_id: str, state: NotificationState, detail: str, now: datetime
    ) -> bool:
        self.statuses.append((provider_id, state, detail, now))
        return True

    async def find_customer_by_phone(self, phone: str) -> list[Customer]:
        return [c for c in self.customers if c.phone == phone]

    async def set_opt_out(
        self, customer_id: str, channel: ChannelName, opted_out: bool, reason: str, now: datetime
    ) -> int:
        self.opt_outs.append((customer_id, channel, opted_out, reason, now))
        return 0


def settings(auth_token: str | None = AUTH_TOKEN, public_url: str = PUBLIC_URL + "/") -> Settings:
    return Settings.model_validate(
        {
            "server": {"public_url": public_url},
            "channels": {"sms": {"auth_token": auth_token, "help_reply": HELP_REPLY}},
        }
    )


# Starts the callback routes with settings made from the local base URL; returns that URL.
Serve = Callable[[Callable[[str], Settings]], Awaitable[str]]


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(
        customers=[Customer(id="cust-1", phone=PHONE), Customer(id="cust-2", phone=PHONE)]
    )


@pytest.fixture
async def serve(store: FakeStore) -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(config: Callable[[str], Settings]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        local = f"http://127.0.0.1:{listener.getsockname()[1]}"
        app = web.Application()
        app[keys.SETTINGS] = config(local)
        app[keys.STORE] = cast(Store, store)  # the callbacks use only its three methods
        app[keys.CLOCK] = lambda: NOW
        app.add_routes(routes)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        await web.SockSite(runner, listener).start()
        return local

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def base(serve: Serve) -> str:
    return await serve(lambda _: settings())


def status_form(status: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": "SM" + "a" * 32, "MessageStatus": status, **extra}


async def post_status(base: str, form: dict[str, str], **kwargs: Any) -> tuple[int, str]:
    kwargs.setdefault("signed_url", PUBLIC_URL + STATUS_PATH)
    return await post_signed(base + STATUS_PATH, form, AUTH_TOKEN, **kwargs)


async def inbound(base: str, body: str, sender: str = PHONE) -> tuple[int, str]:
    return await send_inbound(
        base + INBOUND_PATH, sender, body, AUTH_TOKEN, signed_url=PUBLIC_URL + INBOUND_PATH
    )


def test_status_callback_url_is_under_the_public_url() -> None:
    assert status_callback_url(PUBLIC_URL + "/") == PUBLIC_URL + STATUS_PATH


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("sent", NotificationState.SENT),
        ("delivered", NotificationState.DELIVERED),
        ("undelivered", NotificationState.UNDELIVERED),
        ("failed", NotificationState.UNDELIVERED),
    ],
)
async def test_status_callbacks_are_recorded(
    base: str, store: FakeStore, status: str, state: NotificationState
) -> None:
    assert await post_status(base, status_form(status)) == (204, "")
    assert store.statuses == [("SM" + "a" * 32, state, f"twilio {status}", NOW)]


async def test_failure_detail_carries_the_error_code(base: str, store: FakeStore) -> None:
    await post_status(base, status_form("undelivered", ErrorCode="30003"))
    assert store.statuses[0][2] == "twilio undelivered (error 30003)"


@pytest.mark.parametrize("status", ["queued", "accepted", "sending", "scheduled"])
async def test_early_statuses_change_nothing(base: str, store: FakeStore, status: str) -> None:
    assert (await post_status(base, status_form(status)))[0] == 204
    assert store.statuses == []


async def test_query_string_is_part_of_the_signed_url(base: str, store: FakeStore) -> None:
    url = base + STATUS_PATH + "?n=n-1"
    signed = PUBLIC_URL + STATUS_PATH + "?n=n-1"
    status, _ = await post_signed(url, status_form("sent"), AUTH_TOKEN, signed_url=signed)
    assert status == 204
    unsigned_query, _ = await post_signed(
        url, status_form("sent"), AUTH_TOKEN, signed_url=PUBLIC_URL + STATUS_PATH
    )
    assert unsigned_query == 403


async def test_signature_over_the_local_host_is_refused(base: str, store: FakeStore) -> None:
    # Signed for the address we listen on, not the public URL Twilio was given.
    status, _ = await post_status(base, status_form("sent"), signed_url=base + STATUS_PATH)
    assert status == 403
    assert store.statuses == []


@pytest.mark.parametrize("path", [STATUS_PATH, INBOUND_PATH])
@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
async def test_missing_or_wrong_signature_is_a_403_problem(
    base: str, store: FakeStore, path: str, signature: str
) -> None:
    form = {**status_form("delivered"), "From": PHONE, "Body": "STOP"}
    status, body = await post_signed(base + path, form, AUTH_TOKEN, signature=signature)
    assert status == 403
    problem = json.loads(body)
    assert problem["status"] == 403
    assert "X-Twilio-Signature" in problem["detail"]
    assert (store.statuses, store.opt_outs) == ([], [])


async def test_signature_with_another_token_is_refused(base: str, store: FakeStore) -> None:
    form = status_form("delivered")
    status, _ = await post_signed(
        base + STATUS_PATH, form, "other-token", signed_url=PUBLIC_URL + STATUS_PATH
    )
    assert status == 403


async def test_tampered_form_is_refused(base: str, store: FakeStore) -> None:
    signature = sign(PUBLIC_URL + STATUS_PATH, status_form("undelivered"), AUTH_TOKEN)
    status, _ = await post_signed(
        base + STATUS_PATH, status_form("delivered"), AUTH_TOKEN, signature=signature
    )
    assert status == 403


async def test_unconfigured_sms_is_a_404_problem(serve: Serve) -> None:
    base = await serve(lambda _: settings(auth_token=None))
    status, body = await post_status(base, status_form("sent"))
    assert status == 404
    assert json.loads(body)["status"] == 404


async def test_non_form_body_is_refused(base: str) -> None:
    async with (
        ClientSession() as session,
        session.post(base + STATUS_PATH, json={"MessageSid": "SM1"}) as reply,
    ):
        assert reply.status == 415
        assert reply.content_type == "application/problem+json"


async def test_status_without_message_sid_is_a_400(base: str) -> None:
    status, _ = await post_status(base, {"MessageStatus": "sent"})
    assert status == 400


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        "  Stop \n",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "OPTOUT",
        "REVOKE",
    ],
)
async def test_stop_words_opt_every_matching_customer_out(
    base: str, store: FakeStore, body: str
) -> None:
    status, reply = await inbound(base, body)
    assert status == 200
    assert reply.endswith("<Response/>")
    word = body.strip().upper()
    assert store.opt_outs == [
        ("cust-1", "sms", True, f"inbound {word}", NOW),
        ("cust-2", "sms", True, f"inbound {word}", NOW),
    ]


@pytest.mark.parametrize("body", ["START", "yes", " unstop", "OptIn"])
async def test_start_words_opt_back_in_and_reply(base: str, store: FakeStore, body: str) -> None:
    status, reply = await inbound(base, body)
    assert status == 200
    assert "<Message>Ground Control &lt;updates&gt; &amp; news." in reply
    assert [(c, opted) for c, _, opted, _, _ in store.opt_outs] == [
        ("cust-1", False),
        ("cust-2", False),
    ]


@pytest.mark.parametrize("body", ["HELP", "info", " Help "])
async def test_help_words_get_the_configured_reply(base: str, store: FakeStore, body: str) -> None:
    status, reply = await inbound(base, body)
    assert status == 200
    assert reply == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        "Ground Control &lt;updates&gt; &amp; news. Reply STOP to opt out."
        "</Message></Response>"
    )
    assert store.opt_outs == []


@pytest.mark.parametrize("body", ["", "please stop", "thanks!", "STOP IT"])
async def test_other_messages_are_answered_with_nothing(
    base: str, store: FakeStore, body: str
) -> None:
    status, reply = await inbound(base, body)
    assert (status, reply) == (200, '<?xml version="1.0" encoding="UTF-8"?><Response/>')
    assert store.opt_outs == []


async def test_stop_from_an_unknown_number_changes_nothing(base: str, store: FakeStore) -> None:
    status, _ = await inbound(base, "STOP", sender="+4915112345678")
    assert status == 200
    assert store.opt_outs == []


async def test_status_callback_from_the_peer_is_accepted(serve: Serve, store: FakeStore) -> None:
    # Here Twilio (the peer) calls the address we listen on, so that is the public URL.
    base = await serve(lambda local: settings(public_url=local))
    message = ReceivedMessage(
        sid="SM" + "b" * 32,
        to=PHONE,
        from_="+15005550006",
        body="hi",
        status_callback=status_callback_url(base),
        form={},
    )
    assert await TwilioPeer().send_status(message, "undelivered", error_code="30005") == (204, "")
    assert store.statuses == [
        (message.sid, NotificationState.UNDELIVERED, "twilio undelivered (error 30005)", NOW)
    ]
