"""One-click unsubscribe (RFC 8058) over a real loopback socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from groundcontrol import keys
from groundcontrol.api.unsubscribe import routes
from groundcontrol.domain import ChannelName
from groundcontrol.links import unsubscribe_url
from groundcontrol.security import UnsubscribeTokens, derive_key
from groundcontrol.store.contract import Store

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
TOKENS = UnsubscribeTokens(derive_key("test secret", "unsubscribe"))
ONE_CLICK = {"List-Unsubscribe": "One-Click"}

Client = TestClient[web.Request, web.Application]


@dataclass
class OptOutRecorder:
    """The one store method unsubscribing uses, recording every call."""

    calls: list[tuple[str, ChannelName, bool, str, datetime]] = field(default_factory=list)

    async def set_opt_out(
        self, customer_id: str, channel: ChannelName, opted_out: bool, reason: str, now: datetime
    ) -> int:
        self.calls.append((customer_id, channel, opted_out, reason, now))
        return 1


@pytest.fixture
def store() -> OptOutRecorder:
    return OptOutRecorder()


@pytest.fixture
async def client(store: OptOutRecorder) -> AsyncIterator[Client]:
    app = web.Application()
    app[keys.UNSUBSCRIBE] = TOKENS
    app[keys.STORE] = cast(Store, store)  # unsubscribing uses only set_opt_out
    app[keys.CLOCK] = lambda: NOW
    app.add_routes(routes)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


def url(token: str) -> str:
    return f"/v1/unsubscribe/{token}"


async def test_get_shows_a_confirmation_form_and_opts_nobody_out(
    client: Client, store: OptOutRecorder
) -> None:
    response = await client.get(url(TOKENS.make("cust-42", "email")))
    page = await response.text()
    assert response.status == 200
    assert response.content_type == "text/html"
    assert '<form method="post">' in page
    assert 'name="List-Unsubscribe" value="One-Click"' in page
    assert "e-mail" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert store.calls == []


@pytest.mark.parametrize("channel", ["email", "sms", "chat"])
async def test_one_click_post_opts_the_customer_out_of_that_channel(
    client: Client, store: OptOutRecorder, channel: ChannelName
) -> None:
    response = await client.post(url(TOKENS.make("cust-42", channel)), data=ONE_CLICK)
    assert response.status == 200
    assert response.content_type == "text/html"
    assert "You are unsubscribed" in await response.text()
    assert store.calls == [("cust-42", channel, True, "unsubscribe link", NOW)]


async def test_the_confirmation_form_posts_back_to_the_same_url(
    client: Client, store: OptOutRecorder
) -> None:
    # A browser submits a form without an action attribute to the page's own URL.
    token = TOKENS.make("cust-7", "sms")
    await client.get(url(token))
    response = await client.post(url(token), data=ONE_CLICK)
    assert response.status == 200
    assert store.calls == [("cust-7", "sms", True, "unsubscribe link", NOW)]


async def test_repeating_the_post_is_harmless(client: Client, store: OptOutRecorder) -> None:
    token = TOKENS.make("cust-42", "email")
    for _ in range(2):
        assert (await client.post(url(token), data=ONE_CLICK)).status == 200
    assert len(store.calls) == 2
    assert {call[:3] for call in store.calls} == {("cust-42", "email", True)}


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "v1.ZW1haWw6Y3VzdC00Mg.AAAA",
        UnsubscribeTokens(b"another key").make("cust-42", "email"),
        TOKENS.make("cust-42", "email")[:-1] + "x",
        "v1.%00%ff.",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_invalid_token_is_a_404_problem(
    client: Client, store: OptOutRecorder, token: str, method: str
) -> None:
    response = await client.request(method, url(token), data=ONE_CLICK)
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    problem = await response.json(content_type="application/problem+json")
    assert problem == {
        "type": "about:blank",
        "title": "Unknown unsubscribe link",
        "status": 404,
        "detail": "The link is invalid or has been tampered with.",
    }
    assert store.calls == []


def test_links_live_under_the_public_url() -> None:
    token = TOKENS.make("cust-42", "email")
    expected = f"https://gc.example.com/base/v1/unsubscribe/{token}"
    assert unsubscribe_url("https://gc.example.com/base/", token) == expected
    assert unsubscribe_url("https://gc.example.com/base", token) == expected
