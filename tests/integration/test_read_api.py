"""The admin read side through a real server: timelines, notifications, dead letters
and their re-drive, customers. Dead letters are made for real: a chat receiver on
loopback refuses every message for good."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

pytest.importorskip("groundcontrol.app", reason="the app factory (groundcontrol/app.py) is missing")

from tests.integration.api_harness import Api, event, expect_problem, serve, settings_for
from tests.peers.chat_sink import ChatSink, Reply

from groundcontrol import keys
from groundcontrol.settings import AdminSettings, ChannelSettings, ChatSettings


@pytest.fixture
async def sink() -> AsyncIterator[ChatSink]:
    async with ChatSink(Reply(status=400)) as running:
        yield running


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    chat = ChatSettings(signing_secret=SecretStr("whsec_c2lnbg=="), allow_private_networks=True)
    settings = settings_for(tmp_path, channels=ChannelSettings(chat=chat))
    async with serve(settings) as running:
        yield running


async def post(api: Api, **changes: Any) -> dict[str, Any]:
    response = await api.post_event(event(**changes))
    assert response.status == 202, await response.text()
    return await response.json()  # type: ignore[no-any-return]


def chat_only(sink: ChatSink, customer_id: str = "cust-chat") -> dict[str, Any]:
    return {"id": customer_id, "chat_webhook": sink.url, "channels": ["chat"]}


async def dead_letter(api: Api, sink: ChatSink, case_id: str) -> str:
    """A notification the chat receiver refused for good, with no channel left: dead."""
    result = await post(api, id=f"evt-{case_id}", case_id=case_id, customer=chat_only(sink))
    await api.drain()
    [notification_id] = result["notification_ids"]
    assert (await notification(api, notification_id))["state"] == "dead"
    return notification_id  # type: ignore[no-any-return]


async def notification(api: Api, notification_id: str) -> dict[str, Any]:
    response = await api.admin("GET", f"/v1/notifications/{notification_id}")
    assert response.status == 200, await response.text()
    return await response.json()  # type: ignore[no-any-return]


# --- admin auth ---------------------------------------------------------------------
READ_ROUTES = [
    ("GET", "/v1/cases/C-1001/timeline"),
    ("GET", "/v1/notifications"),
    ("GET", "/v1/notifications/n-1"),
    ("POST", "/v1/notifications/n-1/retry"),
    ("POST", "/v1/notifications/retry"),
    ("GET", "/v1/customers/cust-42"),
    ("PUT", "/v1/customers/cust-42"),
]


@pytest.mark.parametrize(("method", "path"), READ_ROUTES)
@pytest.mark.parametrize("token", [None, "wrong", "crm-token"])
async def test_the_read_side_needs_the_admin_token(
    api: Api, method: str, path: str, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.client.request(method, path, headers=headers, json={})
    await expect_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), READ_ROUTES)
async def test_without_an_admin_token_the_read_side_is_disabled(
    tmp_path: Path, method: str, path: str
) -> None:
    async with serve(settings_for(tmp_path, admin=AdminSettings())) as api:
        response = await api.client.request(
            method, path, headers={"Authorization": "Bearer "}, json={}
        )
        problem = await expect_problem(response, 403)
        assert problem["detail"] == "admin API disabled: set admin.token"


# --- timeline and notifications ---------------------------------------------------------
async def test_an_unknown_case_has_no_timeline(api: Api) -> None:
    await expect_problem(await api.timeline("C-none"), 404)


async def test_the_timeline_tells_the_story_in_order(api: Api) -> None:
    result = await post(api)
    await api.drain()
    body = await (await api.timeline("C-1001")).json()
    assert body["case_id"] == "C-1001"
    times = [entry["at"] for entry in body["entries"]]
    assert times == sorted(times)
    [notification_id] = result["notification_ids"]
    assert notification_id in {entry["notification_id"] for entry in body["entries"]}
    assert all(
        set(entry) == {"at", "kind", "notification_id", "detail"} for entry in body["entries"]
    )


async def test_a_notification_shows_every_attempt(api: Api) -> None:
    [notification_id] = (await post(api))["notification_ids"]
    await api.drain()
    sent = await notification(api, notification_id)
    assert sent["state"] == "sent"
    assert sent["channel"] == "email"
    assert sent["priority"] == "high"
    assert [a["outcome"] for a in sent["attempt_log"]] == ["sent"]


async def test_an_unknown_notification_is_404(api: Api) -> None:
    await expect_problem(await api.admin("GET", "/v1/notifications/n-none"), 404)


async def test_dead_letters_are_listed_and_filtered(api: Api, sink: ChatSink) -> None:
    dead = await dead_letter(api, sink, "C-dead")
    await post(api, id="evt-ok", case_id="C-ok")
    await api.drain()
    assert [n["id"] for n in await api.notifications(state="dead")] == [dead]
    assert [n["id"] for n in await api.notifications(state="dead", channel="chat")] == [dead]
    assert await api.notifications(state="dead", channel="email") == []
    assert [n["case_id"] for n in await api.notifications(case_id="C-ok")] == ["C-ok"]
    assert len(await api.notifications(limit="1")) == 1
    assert len(await api.notifications()) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"state": "zombie"}, "state"),
        ({"channel": "fax"}, "channel"),
        ({"limit": "many"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_filters_are_422_naming_the_parameter(
    api: Api, query: dict[str, str], field: str
) -> None:
    response = await api.admin("GET", "/v1/notifications", params=query)
    await expect_problem(response, 422, {field})


# --- re-drive ---------------------------------------------------------------------------
async def test_a_dead_letter_is_redriven_and_then_delivered(api: Api, sink: ChatSink) -> None:
    dead = await dead_letter(api, sink, "C-dead")
    response = await api.admin("POST", f"/v1/notifications/{dead}/retry")
    assert response.status == 202, await response.text()
    assert (await response.json())["state"] == "pending"
    kinds = [e["kind"] for e in (await (await api.timeline("C-dead")).json())["entries"]]
    assert "redriven" in kinds
    sink.default = Reply(status=200)
    await api.drain()
    assert (await notification(api, dead))["state"] == "sent"
    assert sink.count == 2


async def test_a_notification_that_is_not_dead_cannot_be_redriven(api: Api) -> None:
    [pending] = (await post(api))["notification_ids"]
    response = await api.admin("POST", f"/v1/notifications/{pending}/retry")
    await expect_problem(response, 409)
    assert (await notification(api, pending))["state"] == "pending"


async def test_redriving_an_unknown_notification_is_404(api: Api) -> None:
    await expect_problem(await api.admin("POST", "/v1/notifications/n-none/retry"), 404)


async def test_bulk_redrive_by_ids_says_what_it_did(api: Api, sink: ChatSink) -> None:
    dead = await dead_letter(api, sink, "C-dead")
    [pending] = (await post(api))["notification_ids"]
    body = {"ids": [dead, pending, "n-none"]}
    response = await api.admin("POST", "/v1/notifications/retry", json=body)
    assert response.status == 202
    assert await response.json() == {
        "requested": 3,
        "redriven": 1,
        "ids": [dead],
        "skipped": [pending, "n-none"],
    }
    assert (await notification(api, dead))["state"] == "pending"


async def test_bulk_redrive_by_state_takes_every_match(api: Api, sink: ChatSink) -> None:
    first = await dead_letter(api, sink, "C-dead-1")
    second = await dead_letter(api, sink, "C-dead-2")
    body = {"state": "dead", "channel": "chat"}
    result = await (await api.admin("POST", "/v1/notifications/retry", json=body)).json()
    assert sorted(result["ids"]) == sorted([first, second])
    assert await api.notifications(state="dead") == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"body"}),
        ({"ids": []}, {"ids"}),
        ({"ids": "n-1"}, {"ids"}),
        ({"ids": ["n-1"], "state": "dead"}, {"body"}),
        ({"state": "pending"}, {"state"}),
        ({"state": "dead", "limit": 0}, {"limit"}),
        ({"state": "dead", "everything": True}, {"everything"}),
    ],
)
async def test_a_bad_bulk_redrive_is_422(
    api: Api, sink: ChatSink, body: dict[str, Any], fields: set[str]
) -> None:
    dead = await dead_letter(api, sink, "C-dead")
    response = await api.admin("POST", "/v1/notifications/retry", json=body)
    await expect_problem(response, 422, fields)
    assert (await notification(api, dead))["state"] == "dead"


# --- customers --------------------------------------------------------------------------
async def test_put_creates_then_replaces_a_customer(api: Api) -> None:
    body = {"name": "Ada", "phone": "+31 6 1234 5678", "locale": "nl_nl", "channels": ["sms"]}
    created = await api.admin("PUT", "/v1/customers/cust-1", json=body)
    assert created.status == 201
    assert (await created.json())["phone"] == "+31612345678"
    replaced = await api.admin("PUT", "/v1/customers/cust-1", json={"email": "ada@example.com"})
    assert replaced.status == 200
    stored = await (await api.admin("GET", "/v1/customers/cust-1")).json()
    assert stored == {
        "id": "cust-1",
        "name": None,
        "email": "ada@example.com",
        "phone": None,
        "chat_webhook": None,
        "locale": None,
        "timezone": None,
        "channels": [],
        "opted_out": [],
        "channel_order": [],
        "quiet_hours": True,
    }


async def test_put_keeps_the_customers_opt_outs(api: Api) -> None:
    body = {"phone": "+31612345678", "channels": ["sms"]}
    await api.admin("PUT", "/v1/customers/cust-1", json=body)
    await api.app[keys.STORE].set_opt_out("cust-1", "sms", True, "test", api.clock())
    await api.admin("PUT", "/v1/customers/cust-1", json={**body, "name": "Ada"})
    stored = await (await api.admin("GET", "/v1/customers/cust-1")).json()
    assert stored["opted_out"] == ["sms"]
    assert stored["name"] == "Ada"


async def test_an_unknown_customer_is_404(api: Api) -> None:
    await expect_problem(await api.admin("GET", "/v1/customers/nobody"), 404)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"phone": "0612345678"}, {"phone"}),
        ({"email": "ada"}, {"email"}),
        ({"id": "someone-else"}, {"id"}),
        ({"channels": ["sms", "sms"]}, {"channels"}),
        ({"nmae": "Ada"}, {"nmae"}),
        ([], {"body"}),
    ],
)
async def test_an_invalid_customer_is_422_and_not_stored(
    api: Api, body: Any, fields: set[str]
) -> None:
    response = await api.admin("PUT", "/v1/customers/cust-1", json=body)
    await expect_problem(response, 422, fields)
    await expect_problem(await api.admin("GET", "/v1/customers/cust-1"), 404)


async def test_a_customer_must_be_json(api: Api) -> None:
    text = await api.admin("PUT", "/v1/customers/cust-1", data=b"name=Ada")
    await expect_problem(text, 415)
    broken = await api.admin(
        "PUT", "/v1/customers/cust-1", data=b"{", headers={"Content-Type": "application/json"}
    )
    await expect_problem(broken, 400)
    await expect_problem(await api.admin("GET", "/v1/customers/cust-1"), 404)
