"""The studio in a real headless Chromium (Debian's `chromium`) driving the real
service: sign in, live preview, a blocked publish with the error at its line, a
publish the next message uses, restore, and an edit conflict between two people.
Screenshots land in docs/studio/ for the README."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from tests.integration.api_harness import (
    ADMIN_TOKEN,
    REPO,
    SOURCE_TOKEN,
    Clock,
    event,
    settings_for,
)

from groundcontrol import keys
from groundcontrol.app import create_app

if TYPE_CHECKING:  # at run time, only when installed: see importorskip below
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "docs" / "studio"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium"
)
async_api = pytest.importorskip(
    "playwright.async_api", reason="needs playwright: pip install '.[test]'"
)


@dataclass
class Service:
    app: web.Application
    url: str
    outbox: Path

    async def send_event(self, case_id: str) -> list[str]:
        """Post an event for an SMS-only customer, send it, and return every SMS body."""
        body = event(id=f"evt-{case_id}", case_id=case_id)
        body["customer"] = {**body["customer"], "locale": "en", "channels": ["sms"]}
        headers = {"Authorization": f"Bearer {SOURCE_TOKEN}"}
        async with ClientSession() as http:
            response = await http.post(f"{self.url}/v1/events", json=body, headers=headers)
            assert response.status == 202, await response.text()
        await self.app[keys.DISPATCHER].drain()
        return [json.loads(p.read_text())["body"] for p in sorted(self.outbox.glob("*.json"))]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    settings = settings_for(tmp_path)
    app = create_app(settings, clock=Clock(), run_dispatcher=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield Service(app, str(server.make_url("")).rstrip("/"), settings.delivery.outbox_dir)
    finally:
        await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_api.async_playwright() as playwright:
        launched: Browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS
        )
        yield launched
        await launched.close()


async def signed_in(browser: Browser, service: Service, name: str) -> Page:
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto(f"{service.url}/studio/")
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/studio/templates")
    return page


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_edit_preview_publish_and_restore(browser: Browser, service: Service) -> None:
    expect = async_api.expect
    page = await signed_in(browser, service, "Ada")
    await expect(page.get_by_role("table")).to_contain_text("case_received")
    await shot(page, "templates")

    await page.get_by_label("case_received sms default: file").click()
    editor = page.locator("#source")
    await editor.fill("Hi {{ customer.first_name }}, your case {{ case.id }} is in.")
    await expect(page.locator("#preview .bubble")).to_have_text("Hi Ada, your case C-1001 is in.")
    await expect(page.locator(".sms-facts")).to_contain_text("GSM-7 · 1 segment")
    await shot(page, "editor-sms")

    await editor.fill("Hi {{ customer.first_name }},\nyour case {{ case.number }} is in.")
    await expect(page.locator(".gutter li.bad")).to_have_text("2")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator(".problems")).to_contain_text("Line 2: undefined variable")
    await expect(page.locator(".gutter li.bad")).to_have_text("2")
    await shot(page, "publish-blocked")

    await page.locator("#source").fill("Version one for {{ case.id }}")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator(".notice")).to_contain_text("Published version 1")
    assert await service.send_event("C-1") == ["Version one for C-1"]

    await page.locator("#source").fill("Version two for {{ case.id }}")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator(".notice")).to_contain_text("Published version 2")
    await page.get_by_role("link", name="Version history").click()
    await shot(page, "history")
    await page.get_by_role("button", name="Restore version 1").click()
    await expect(page.locator(".notice")).to_contain_text("Restored version 1")
    assert (await service.send_event("C-2"))[-1] == "Version one for C-2"


async def test_email_preview_shows_subject_text_and_sandboxed_html(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    page = await signed_in(browser, service, "Ada")
    await page.goto(f"{service.url}/studio/templates/case_received/email.nl")
    await expect(page.locator(".subject")).to_contain_text("We hebben je aanvraag ontvangen")
    frame = page.locator("iframe.html")
    assert await frame.get_attribute("sandbox") == ""
    await expect(page.frame_locator("iframe.html").locator("body")).to_contain_text("C-1001")
    await shot(page, "editor-email")


async def test_two_people_editing_get_a_conflict(browser: Browser, service: Service) -> None:
    expect = async_api.expect
    ada = await signed_in(browser, service, "Ada")
    bob = await signed_in(browser, service, "Bob")
    for page in (ada, bob):
        await page.goto(f"{service.url}/studio/templates/case_received/chat")

    await ada.locator("#source").fill("Ada's words for {{ case.id }}")
    await ada.get_by_role("button", name="Save draft").click()
    await expect(ada.locator(".notice")).to_contain_text("Draft saved")

    await bob.locator("#source").fill("Bob's words for {{ case.id }}")
    await bob.get_by_role("button", name="Save draft").click()
    await expect(bob.locator(".conflict")).to_contain_text("Someone else changed this template")
    await expect(bob.locator(".conflict pre")).to_have_text("Ada's words for {{ case.id }}")
    await expect(bob.locator("#source")).to_have_value("Bob's words for {{ case.id }}")
    await shot(bob, "conflict")
