"""The callbacks admin API against a real back office on loopback: list the dead ones in
signed keyset pages, re-drive one or many (the same webhook-id posted again), and every
bad parameter a 422 naming it, an unknown id 404, a callback that is not dead 409."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.peers.chat_sink import ChatSink, Reply
from tests.service.harness import Service, World
from tests.service.test_callbacks_service import NOBODY, listening

PROBLEM = "application/problem+json"


@pytest.fixture
async def back_office(world: World) -> AsyncIterator[ChatSink]:
    """Refuses for good at first (400): every callback dies on its first attempt."""
    async with listening(world, "case.promise_breached", "customer.unreachable") as sink:
        sink.default = Reply(status=400)
        yield sink


async def dead_letters(service: Service, cases: int) -> None:
    """Each case's customer is unreachable (a callback at once), then breaches (another)."""
    for n in range(cases):
        await service.post("received", case_id=f"C-{n}", customer=NOBODY)
    await service.advance(60)


async def get(service: Service, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
    response = await service.admin("GET", path, params=params)
    return response.status, await response.json(content_type=None)


async def post(service: Service, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    response = await service.admin("POST", path, json=body)
    return response.status, await response.json(content_type=None)


async def test_dead_callbacks_are_listed_newest_first_in_signed_pages(
    world: World, back_office: ChatSink
) -> None:
    async with world.serve() as service:
        await dead_letters(service, 3)
        seen: list[dict[str, Any]] = []
        status, page = await get(service, "/v1/callbacks", state="dead", limit=4)
        while True:
            assert status == 200, page
            seen += page["items"]
            if page["next_cursor"] is None:
                break
            status, page = await get(
                service, "/v1/callbacks", state="dead", limit=4, cursor=page["next_cursor"]
            )
        assert len(seen) == len({c["id"] for c in seen}) == 6
        assert {c["state"] for c in seen} == {"dead"}
        assert all(c["last_error"] == "HTTP 400" for c in seen)
        newest_first = [(c["created_at"], c["id"]) for c in seen]
        assert newest_first == sorted(newest_first, reverse=True)
        assert seen[0]["body"]["id"] == seen[0]["id"]

        status, page = await get(service, "/v1/callbacks", type="customer.unreachable")
        assert {c["type"] for c in page["items"]} == {"customer.unreachable"}
        assert len(page["items"]) == 3


async def test_one_dead_callback_is_re_driven_under_its_webhook_id(
    world: World, back_office: ChatSink
) -> None:
    async with world.serve() as service:
        await dead_letters(service, 1)
        _, page = await get(service, "/v1/callbacks", state="dead", type="case.promise_breached")
        [dead] = page["items"]
        back_office.default = Reply()

        status, redriven = await post(service, f"/v1/callbacks/{dead['id']}/redrive")
        assert status == 202, redriven
        assert (redriven["id"], redriven["state"], redriven["attempts"]) == (
            dead["id"],
            "pending",
            0,
        )
        await service.drain()

        last = back_office.requests[-1]
        assert (last.headers["webhook-id"], last.signature_valid) == (dead["id"], True)
        assert json.loads(last.body) == dead["body"]
        _, sent = await get(service, f"/v1/callbacks/{dead['id']}")
        assert sent["state"] == "sent"
        status, problem = await post(service, f"/v1/callbacks/{dead['id']}/redrive")
        assert (status, problem["status"]) == (409, 409)
        assert "sent: not dead" in problem["detail"]


async def test_dead_callbacks_are_re_driven_in_bulk(world: World, back_office: ChatSink) -> None:
    async with world.serve() as service:
        await dead_letters(service, 2)
        back_office.default = Reply()

        status, breaches = await post(
            service, "/v1/callbacks/redrive", {"state": "dead", "type": "case.promise_breached"}
        )
        assert status == 202, breaches
        assert (breaches["requested"], breaches["redriven"], breaches["skipped"]) == (2, 2, [])
        _, still_dead = await get(service, "/v1/callbacks", state="dead")
        ids = [c["id"] for c in still_dead["items"]]
        assert {c["type"] for c in still_dead["items"]} == {"customer.unreachable"}
        status, chosen = await post(service, "/v1/callbacks/redrive", {"ids": [*ids, "cb_nope"]})
        assert (status, chosen["redriven"], chosen["skipped"]) == (202, 2, ["cb_nope"])
        await service.drain()
        _, left = await get(service, "/v1/callbacks", state="dead")
        assert left["items"] == []
        posted_again = {r.headers["webhook-id"] for r in back_office.requests[-4:]}
        assert posted_again == {*breaches["ids"], *chosen["ids"]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "lost"}, "state"),
        ({"type": "case.closed"}, "type"),
        ({"source": "nobody"}, "source"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "forged.cursor"}, "cursor"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_bad_parameter_is_a_422_naming_it(
    world: World, back_office: ChatSink, params: dict[str, str], field: str
) -> None:
    async with world.serve() as service:
        response = await service.admin("GET", "/v1/callbacks", params=params)
        assert response.status == 422
        assert response.content_type == PROBLEM
        problem = await response.json(content_type=None)
        assert field in [e["field"] for e in problem["errors"]], problem


async def test_a_tampered_cursor_is_refused(world: World, back_office: ChatSink) -> None:
    async with world.serve() as service:
        await dead_letters(service, 2)
        _, page = await get(service, "/v1/callbacks", limit=1)
        body, signature = page["next_cursor"].split(".")
        status, problem = await get(service, "/v1/callbacks", cursor=f"{body}x.{signature}")
        assert status == 422 and problem["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"ids": ["cb_1"], "state": "dead"}, None),
        ({"ids": []}, "ids"),
        ({"state": "sent"}, "state"),
        ({"state": "dead", "source": "nobody"}, "source"),
        ({"ids": ["cb_1"], "type": "contact.invalid"}, None),
        ({"state": "dead", "limit": "10"}, "limit"),
    ],
)
async def test_a_bad_bulk_body_is_a_422(
    world: World, back_office: ChatSink, body: dict[str, Any], field: str | None
) -> None:
    async with world.serve() as service:
        status, problem = await post(service, "/v1/callbacks/redrive", body)
        assert status == 422, problem
        if field is not None:
            assert field in [e["field"] for e in problem["errors"]], problem


async def test_unknown_ids_are_404_and_the_admin_token_is_needed(
    world: World, back_office: ChatSink
) -> None:
    async with world.serve() as service:
        assert (await get(service, "/v1/callbacks/cb_nope"))[0] == 404
        assert (await post(service, "/v1/callbacks/cb_nope/redrive"))[0] == 404
        anonymous = await service.client.get("/v1/callbacks")
        assert anonymous.status == 401
