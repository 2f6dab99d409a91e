"""The case page over HTTP on the real app: the link from a sent e-mail opens it, every
bad link is the same plain 404 (never a 5xx), the form is CSRF-protected and saves
preferences the next message follows, and requests are rate limited."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from tests.integration.api_harness import (
    SOURCE_TOKEN,
    Api,
    encode,
    event,
    expect_problem,
    serve,
    settings_for,
)

from groundcontrol import keys
from groundcontrol.security import CaseTokens, derive_key

LINK = re.compile(r"https?://\S+?(/c/[A-Za-z0-9_.-]+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with serve(settings_for(tmp_path)) as served:  # the bundled journeys: resolved is final
        yield served


async def post(api: Api, **changes: Any) -> None:
    headers = {"Authorization": f"Bearer {SOURCE_TOKEN}", "Content-Type": "application/json"}
    response = await api.client.post("/v1/events", data=encode(event(**changes)), headers=headers)
    assert response.status == 202, await response.text()
    await api.drain()


def outbox(api: Api) -> list[Path]:
    return sorted(api.app[keys.SETTINGS].delivery.outbox_dir.iterdir(), key=lambda p: p.name)


def link_in_latest_email(api: Api) -> str:
    latest = [p for p in outbox(api) if p.suffix == ".eml"][-1]
    message = email.message_from_bytes(latest.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found is not None, "the e-mail carries no case link"
    return found.group(1)


async def page(api: Api, path: str) -> tuple[ClientResponse, str]:
    response = await api.client.get(path)
    return response, await response.text()


def assert_private(response: ClientResponse) -> None:
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert response.headers["Cache-Control"] == "no-store"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


async def test_the_link_in_a_sent_email_opens_the_page_in_the_customers_language(
    api: Api,
) -> None:
    await post(api)
    path = link_in_latest_email(api)
    response, html = await page(api, path)
    assert response.status == 200
    assert_private(response)
    assert '<html lang="nl">' in html
    assert "Aanvraag C-1001" in html
    assert "We hebben je aanvraag ontvangen." in html
    assert "We stuurden je een e-mail." in html
    assert "25 november 2026" in html  # what happens next, from the event's eta


async def test_no_personal_data_but_the_first_name(api: Api) -> None:
    await post(api)
    _, html = await page(api, link_in_latest_email(api))
    assert "Ada" in html
    for secret in ("Lovelace", "ada@example.com", "612345678", "cust-42", "Europe/Amsterdam"):
        assert secret not in html


async def test_opening_the_page_is_on_the_timeline_as_viewed(api: Api) -> None:
    await post(api)
    path = link_in_latest_email(api)
    assert (await api.client.head(path)).status == 200  # a link checker: not a view
    await page(api, path)
    timeline = await (await api.timeline("C-1001")).json()
    assert [e["kind"] for e in timeline["entries"]].count("viewed") == 1
    assert timeline["entries"][-1]["kind"] == "viewed"
    assert timeline["entries"][-1]["detail"] == {"kind": "viewed", "channel": None}
    case = await (await api.admin("GET", "/v1/cases/C-1001")).json()
    assert case["last_contact"]["kind"] == "viewed"  # the golden thread counts it


def tampered(path: str) -> str:
    last = path[-1]
    return path[:-1] + ("A" if last != "A" else "B")


async def test_every_bad_link_gets_the_same_plain_404(api: Api) -> None:
    await post(api)
    good = link_in_latest_email(api)
    other_key = CaseTokens(derive_key("another secret", "case-page")).make("C-1001", "cust-42")
    tokens = api.app[keys.CASE_TOKENS]
    bad = [
        tampered(good),
        f"/c/{other_key}",
        f"/c/{tokens.make('C-404', 'cust-42')}",  # no such case
        f"/c/{tokens.make('C-1001', 'cust-43')}",  # someone else's case
        "/c/garbage",
        "/c/v1..",
        "/c/%00%ff",
        "/c/" + "v1." + "A" * 6000 + ".B",
    ]
    bodies = set()
    for path in bad:
        response, html = await page(api, path)
        assert response.status == 404, path
        assert_private(response)
        bodies.add(html)
        post_response = await api.client.post(path, data={"csrf": "x"})
        assert post_response.status == 404, path
    assert len(bodies) == 1  # nothing tells one refusal from another
    assert "C-1001" not in bodies.pop()


async def test_a_link_expires_30_days_after_the_case_closed_and_lives_again_if_reopened(
    api: Api,
) -> None:
    await post(api)
    path = link_in_latest_email(api)
    await post(api, id="evt-2", status="resolved", occurred_at="2026-11-22T12:00:00Z")
    api.clock.advance(timedelta(days=30, hours=1))
    assert (await page(api, path))[0].status == 200  # 30 days after 12:00 is still ahead
    api.clock.advance(timedelta(hours=1, seconds=1))
    assert (await page(api, path))[0].status == 404
    await post(api, id="evt-3", status="in_progress", occurred_at="2026-12-23T12:00:00Z")
    assert (await page(api, path))[0].status == 200


async def save(api: Api, path: str, form: dict[str, Any] | list[tuple[str, str]]) -> ClientResponse:
    _, html = await page(api, path)
    found = CSRF.search(html)
    assert found is not None
    fields = list(form.items()) if isinstance(form, dict) else list(form)
    return await api.client.post(
        path, data=[("csrf", found.group(1)), *fields], allow_redirects=False
    )


async def test_saved_preferences_are_stored_on_the_timeline_and_followed_next(api: Api) -> None:
    await post(api)
    path = link_in_latest_email(api)
    form = [("channels", "sms"), ("order", "sms"), ("order", "email")]  # no e-mail, no nights
    response = await save(api, path, form)
    assert response.status == 303
    assert response.headers["Location"] == f"{path}?saved=1"
    assert_private(response)
    customer = await (await api.admin("GET", "/v1/customers/cust-42")).json()
    assert (customer["opted_out"], customer["channel_order"], customer["quiet_hours"]) == (
        ["email"],
        ["sms", "email"],
        False,
    )
    kinds = [e["kind"] for e in (await (await api.timeline("C-1001")).json())["entries"]]
    assert "opted_out" in kinds and kinds[-1] == "preferences_changed"

    _, html = await page(api, f"{path}?saved=1")
    assert "Opgeslagen." in html
    assert 'value="email">' in html and 'value="sms" checked>' in html

    api.clock.advance(timedelta(hours=12))  # 22:00 UTC, 23:00 in Amsterdam: quiet hours
    await post(api, id="evt-2", status="waiting_on_customer", occurred_at="2026-11-22T22:00:00Z")
    sms = [p for p in outbox(api) if p.suffix == ".json"]
    assert len(sms) == 1, "the next message goes by SMS, at night, as the customer chose"
    kinds = [e["kind"] for e in (await (await api.timeline("C-1001")).json())["entries"]]
    assert "deferred" not in kinds


async def test_turning_quiet_hours_off_sends_what_they_held_at_once(api: Api) -> None:
    api.clock.advance(timedelta(hours=12))  # 22:00 UTC, 23:00 in Amsterdam
    await post(api, occurred_at="2026-11-22T22:00:00Z")
    assert outbox(api) == []  # held until the morning
    path = f"/c/{api.app[keys.CASE_TOKENS].make('C-1001', 'cust-42')}"
    response = await save(api, path, [("channels", "email"), ("channels", "sms")])
    assert response.status == 303
    await api.drain()
    assert [p.suffix for p in outbox(api)] == [".eml"]
    kinds = [e["kind"] for e in (await (await api.timeline("C-1001")).json())["entries"]]
    assert kinds.index("released") > kinds.index("preferences_changed")


async def test_the_back_office_replacing_the_customer_keeps_their_choices(api: Api) -> None:
    await post(api)
    path = link_in_latest_email(api)
    await save(api, path, [("channels", "email"), ("order", "sms"), ("order", "email")])
    body = {"name": "Ada Lovelace", "email": "ada@example.com", "channels": ["email", "sms"]}
    assert (await api.admin("PUT", "/v1/customers/cust-42", json=body)).status == 200
    await post(api, id="evt-2")  # an event with the full inline customer again
    customer = await (await api.admin("GET", "/v1/customers/cust-42")).json()
    assert (customer["channel_order"], customer["quiet_hours"]) == (["sms", "email"], False)
    assert customer["opted_out"] == ["sms"]


async def test_a_post_without_the_pages_csrf_token_saves_nothing(api: Api) -> None:
    await post(api)
    path = link_in_latest_email(api)
    await page(api, path)  # the cookie is set, but the token is not sent back
    response = await api.client.post(path, data={"channels": "sms", "csrf": "forged"})
    assert response.status == 403
    assert_private(response)
    assert "nothing was saved" in (await response.text()) or "niets opgeslagen" in (
        await response.text()
    )
    customer = await (await api.admin("GET", "/v1/customers/cust-42")).json()
    assert customer["opted_out"] == [] and customer["quiet_hours"] is True


async def test_a_cross_site_post_is_refused_even_with_the_token(api: Api) -> None:
    await post(api)
    path = link_in_latest_email(api)
    _, html = await page(api, path)
    found = CSRF.search(html)
    assert found is not None
    response = await api.client.post(
        path,
        data={"csrf": found.group(1), "channels": "sms"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status == 403


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ([("channels", "pigeon")], "channels"),
        ([("order", "chat")], "order"),  # a channel the page did not offer
        ([("quiet_hours", "maybe")], "quiet_hours"),
        ([("channels", "sms")] * 9, "channels"),
    ],
)
async def test_a_form_the_page_never_offered_is_a_problem_naming_the_field(
    api: Api, form: list[tuple[str, str]], field: str
) -> None:
    await post(api)
    path = link_in_latest_email(api)
    await expect_problem(await save(api, path, form), 422, {field})
    customer = await (await api.admin("GET", "/v1/customers/cust-42")).json()
    assert customer["opted_out"] == [] and customer["channel_order"] == []


async def test_requests_are_rate_limited_per_link(api: Api) -> None:
    await post(api)
    path = link_in_latest_email(api)
    statuses = [(await page(api, path))[0].status for _ in range(31)]
    assert statuses[:30] == [200] * 30
    response, _ = await page(api, path)
    assert response.status == 429
    assert_private(response)
    assert int(response.headers["Retry-After"]) > 0
    api.clock.advance(timedelta(minutes=10))
    assert (await page(api, path))[0].status == 200


async def test_a_body_over_the_size_limit_is_a_private_problem(api: Api) -> None:
    await post(api)
    path = link_in_latest_email(api)
    response = await api.client.post(path, data={"channels": "x" * (1024 * 1024 + 10)})
    await expect_problem(response, 413)
    assert_private(response)


async def test_requests_are_rate_limited_per_address_whatever_the_link(api: Api) -> None:
    statuses = [(await page(api, f"/c/guess-{n}"))[0].status for n in range(61)]
    assert statuses[:60] == [404] * 60
    assert statuses[60] == 429
