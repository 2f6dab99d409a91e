"""The golden thread through the running service, its clock injected: each kind of
contact, the promise per status and by default, one breach per dark stretch, the breach
ended by the next contact, reopening after a final status, the metrics, and the API's
answers to bad parameters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.service.harness import NOW, Service, World, customer

from groundcontrol import keys
from groundcontrol.planning.golden_thread import Contact, ContactKind

JOURNEYS = """
[defaults]
promise = "60s"

[[rules]]
status = "received"
template = "case_received"

[[rules]]
status = "waiting_on_customer"
template = "waiting_on_customer"
promise = "20s"

[[rules]]
status = "resolved"
template = "case_resolved"
final = true
"""

NOBODY: dict[str, Any] = {"id": "cust-dark", "name": "Nobody", "channels": []}
KNOWN_NOBODY = {"id": "cust-dark"}


@pytest.fixture
def journeys(world: World) -> World:
    world.configure(journeys=JOURNEYS)
    return world


async def case(service: Service, case_id: str = "C-1001") -> dict[str, Any]:
    response = await service.admin("GET", f"/v1/cases/{case_id}")
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def breaches(service: Service, case_id: str = "C-1001") -> int:
    return len(await service.entries("promise_breached", case_id))


def at(seconds: float) -> str:
    return (NOW + timedelta(seconds=seconds)).isoformat()


# --- contacts ----------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["sms", "email", "chat"])
async def test_a_message_sent_on_any_channel_is_a_contact(journeys: World, channel: str) -> None:
    async with journeys.serve() as service:
        await service.post("received", customer=customer(journeys.peers, channel))
        assert (await case(service))["dark_since"] == at(0)
        await service.advance(5)

        body = await case(service)
        assert body["dark_since"] == at(5)
        assert body["last_contact"]["channel"] == channel
        assert body["last_contact"]["kind"] == "sent"
        [notification] = await service.notifications()
        assert body["last_contact"]["notification_id"] == notification["id"]


async def test_a_delivery_report_counts_the_same_message_once(journeys: World) -> None:
    async with journeys.serve() as service:
        await service.post("received", customer=customer(journeys.peers, "sms"))
        await service.drain()
        journeys.clock.advance(seconds=30)
        [message] = journeys.peers.twilio.messages
        status, _ = await journeys.peers.twilio.send_status(message, "delivered")
        assert status in (200, 204)

        body = await case(service)
        assert body["dark_since"] == at(0), "the contact was when it was sent"
        assert "delivered" in await service.kinds()


async def test_the_customer_viewing_the_case_page_is_a_contact(journeys: World) -> None:
    async with journeys.serve() as service:
        await service.post("received", customer=NOBODY)
        store = service.app[keys.STORE]
        viewed = Contact(NOW + timedelta(seconds=40), ContactKind.VIEWED)
        assert await store.record_contact("C-1001", viewed)

        body = await case(service)
        assert body["dark_since"] == at(40)
        assert body["last_contact"]["kind"] == "viewed"
        assert "viewed" in await service.kinds()


# --- promises and breaches ----------------------------------------------------------------


async def test_the_default_promise_applies_to_a_status_without_its_own(journeys: World) -> None:
    async with journeys.serve() as service:
        await service.post("received", customer=NOBODY)
        body = await case(service)
        assert (body["promise_seconds"], body["breached"]) == (60, False)

        await service.advance(59)
        assert await breaches(service) == 0
        await service.advance(1)
        assert await breaches(service) == 1
        assert (await case(service))["breached"] is True


async def test_a_status_with_its_own_promise_keeps_it(journeys: World) -> None:
    async with journeys.serve() as service:
        await service.post("received", customer=NOBODY)
        await service.post("waiting_on_customer", customer=KNOWN_NOBODY)
        assert (await case(service))["promise_seconds"] == 20
        await service.advance(20)
        [entry] = await service.entries("promise_breached")
        assert entry["detail"]["status"] == "waiting_on_customer"
        assert entry["detail"]["deadline"] == at(20)


async def test_a_breach_is_recorded_once_per_dark_stretch(journeys: World) -> None:
    async with journeys.serve() as service:
        await service.post("received", customer=NOBODY)
        for _ in range(5):
            await service.advance(60)
        assert await breaches(service) == 1
        metrics = await (await service.client.get("/metrics")).text()
        assert 'groundcontrol_promise_breaches_total{status="received"} 1.0' in metrics
        assert "groundcontrol_open_cases 1.0" in metrics
        assert "groundcontrol_breached_cases 1.0" in metrics


async def test_the_next_contact_ends_the_breach_and_starts_a_new_stretch(journeys: World) -> None:
    async with journeys.serve() as service:
        await service.post("received", customer=customer(journeys.peers, "sms"))
        await service.drain()
        await service.advance(60)
        assert (await case(service))["breached"] is True

        await service.post("waiting_on_customer")  # its message is the next contact
        await service.drain()
        body = await case(service)
        assert (body["breached"], body["dark_since"]) == (False, at(60))
        await service.advance(20)
        assert await breaches(service) == 2, "the new stretch breaks its own promise"
        metrics = await (await service.client.get("/metrics")).text()
        # Two stretches a send ended: 0 s to the first message, then 60 s to the second.
        assert "groundcontrol_dark_gap_seconds_count 2.0" in metrics
        assert "groundcontrol_dark_gap_seconds_sum 60.0" in metrics


async def test_a_final_status_closes_the_case_and_a_later_status_reopens_it(
    journeys: World,
) -> None:
    async with journeys.serve() as service:
        await service.post("received", customer=NOBODY)
        await service.advance(10)
        await service.post("resolved", customer=KNOWN_NOBODY)
        await service.advance(600)
        body = await case(service)
        assert (body["open"], body["dark_seconds"], body["breached"]) == (False, None, False)
        assert await breaches(service) == 0

        await service.post("waiting_on_customer", customer=KNOWN_NOBODY)
        body = await case(service)
        assert (body["open"], body["opened_at"], body["dark_since"]) == (True, at(610), at(610))
        await service.advance(20)
        assert await breaches(service) == 1


# --- the read API ---------------------------------------------------------------------------


async def three_cases(service: Service) -> None:
    """C-1 (crm) dark since 0 s, C-2 (erp) since 30 s, C-3 resolved; read at 70 s."""
    await service.post("received", case_id="C-1", customer=NOBODY)
    service.clock.advance(seconds=30)
    await service.post("received", case_id="C-2", customer=NOBODY, token="erp-token")
    await service.post("resolved", case_id="C-3", customer=NOBODY)
    await service.advance(40)


async def listed(service: Service, **params: str) -> dict[str, Any]:
    response = await service.admin("GET", "/v1/cases", params=params)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_cases_are_filtered_ordered_and_paged(journeys: World) -> None:
    async with journeys.serve() as service:
        await three_cases(service)

        async def ids(**params: str) -> list[str]:
            return [item["case_id"] for item in (await listed(service, **params))["items"]]

        assert await ids(breached="true", order="-dark") == ["C-1"]
        assert await ids(open="true") == ["C-1", "C-2"]
        assert await ids(open="false") == ["C-3"]
        assert await ids(source="erp") == ["C-2"]
        assert await ids(status="resolved") == ["C-3"]
        assert await ids(dark_longer_than="1m") == ["C-1"]
        assert await ids(order="dark", open="true") == ["C-2", "C-1"]

        first = await listed(service, limit="1")
        assert [i["case_id"] for i in first["items"]] == ["C-1"]
        second = await listed(service, limit="1", cursor=first["next_cursor"])
        assert [i["case_id"] for i in second["items"]] == ["C-2"]
        third = await listed(service, limit="1", cursor=second["next_cursor"])
        assert ([i["case_id"] for i in third["items"]], third["next_cursor"]) == (["C-3"], None)


async def test_the_golden_thread_summary(journeys: World) -> None:
    async with journeys.serve() as service:
        await three_cases(service)
        response = await service.admin("GET", "/v1/golden-thread", params={"window": "1h"})
        assert response.status == 200, await response.text()
        body = await response.json()
        assert (body["open_cases"], body["breached_now"], body["breaches_in_window"]) == (2, 1, 1)
        assert body["dark_seconds"] == {"p50": 40.0, "p95": 70.0, "max": 70.0}
        assert body["by_source"] == {
            "crm": {"open": 1, "breached_now": 1, "p95_dark_seconds": 70.0},
            "erp": {"open": 1, "breached_now": 0, "p95_dark_seconds": 40.0},
        }
        assert body["by_status"]["received"]["open"] == 2


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/cases", {"open": "maybe"}, "open"),
        ("/v1/cases", {"breached": "often"}, "breached"),
        ("/v1/cases", {"order": "sideways"}, "order"),
        ("/v1/cases", {"limit": "0"}, "limit"),
        ("/v1/cases", {"limit": "many"}, "limit"),
        ("/v1/cases", {"dark_longer_than": "a while"}, "dark_longer_than"),
        ("/v1/cases", {"dark_longer_than": "0s"}, "dark_longer_than"),
        ("/v1/cases", {"source": "nobody-we-know"}, "source"),
        ("/v1/cases", {"colour": "blue"}, "colour"),
        ("/v1/cases", {"cursor": "not-a-cursor"}, "cursor"),
        ("/v1/cases", {"cursor": "eyJhIjoxfQ.AAAA"}, "cursor"),
        ("/v1/golden-thread", {"window": "forever"}, "window"),
        ("/v1/golden-thread", {"window": "0s"}, "window"),
        ("/v1/golden-thread", {"window": "400d"}, "window"),
    ],
)
async def test_a_bad_parameter_is_a_problem_naming_it(
    journeys: World, path: str, params: dict[str, str], field: str
) -> None:
    async with journeys.serve() as service:
        response = await service.admin("GET", path, params=params)
        assert response.status == 422, await response.text()
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert [e["field"] for e in problem["errors"]] == [field]


async def test_a_tampered_cursor_is_refused(journeys: World) -> None:
    async with journeys.serve() as service:
        await three_cases(service)
        cursor = (await listed(service, limit="1"))["next_cursor"]
        body, signature = cursor.split(".")
        forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature
        for bad, order in ((forged, "-dark"), (cursor, "dark")):
            params = {"cursor": bad, "order": order}
            response = await service.admin("GET", "/v1/cases", params=params)
            assert response.status == 422
            assert (await response.json())["errors"][0]["field"] == "cursor"


async def test_an_unknown_case_is_a_404_problem(journeys: World) -> None:
    async with journeys.serve() as service:
        response = await service.admin("GET", "/v1/cases/nope")
        assert (response.status, response.content_type) == (404, "application/problem+json")


async def test_the_case_routes_need_the_admin_token(journeys: World) -> None:
    async with journeys.serve() as service:
        for path in ("/v1/cases", "/v1/cases/C-1001", "/v1/golden-thread"):
            response = await service.client.get(path)
            assert response.status == 401


# --- promises kept by construction -------------------------------------------------------------

QUIET_JOURNEYS = """
[[rules]]
status = "received"
template = "case_received"
promise = "12h"
follow_up = { after = "11h", template = "still_working" }
"""


async def test_a_follow_up_quiet_hours_would_push_past_the_promise_goes_earlier(
    world: World,
) -> None:
    # 10:00 UTC is 11:00 in Amsterdam. The follow-up would be due at 22:00 local, inside
    # quiet hours (21:00-08:00) that end long after the promise breaks (23:00 local).
    world.configure(journeys=QUIET_JOURNEYS)
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        [scheduled] = await service.entries("follow_up_scheduled")
        assert scheduled["detail"]["due_at"] == at(9 * 3600 + 59 * 60)  # 20:59 local
        assert "before quiet hours begin" in scheduled["detail"]["note"]

        await service.advance(9 * 3600 + 59 * 60)
        assert len(world.peers.twilio.messages) == 2, "the follow-up went before quiet hours"
        await service.advance(3 * 3600)
        assert await breaches(service) == 0
        assert (await case(service))["dark_since"] == at(9 * 3600 + 59 * 60)
