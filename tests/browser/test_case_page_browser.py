"""The case page in a real headless Chromium at phone size, driving the real service:
open the link from a delivered e-mail, read the history, change preferences, and see the
next message follow them. axe-core checks every state of the page (WCAG 2.2 A/AA).
Screenshots land in docs/ for docs/case-page.md."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer, unused_port
from tests.browser.chromium import (
    PLAYWRIGHT_HINT,
    axe_violations,
    screenshot,
)
from tests.integration.api_harness import (
    ADMIN_TOKEN,
    SOURCE_TOKEN,
    Clock,
    event,
    settings_for,
)

from groundcontrol import keys
from groundcontrol.app import create_app
from groundcontrol.settings import ServerSettings

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, ViewportSize

async_api = pytest.importorskip("playwright.async_api", reason=PLAYWRIGHT_HINT)

PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass
class Service:
    app: web.Application
    url: str
    clock: Clock
    outbox: Path

    async def post(self, **changes: Any) -> None:
        headers = {"Authorization": f"Bearer {SOURCE_TOKEN}"}
        async with ClientSession() as http:
            response = await http.post(
                f"{self.url}/v1/events", json=event(**changes), headers=headers
            )
            assert response.status == 202, await response.text()
        await self.app[keys.DISPATCHER].drain()

    def emails(self) -> list[email.message.EmailMessage]:
        files = sorted(self.outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files
        ]

    def texts(self) -> list[str]:
        return [json.loads(p.read_text())["body"] for p in sorted(self.outbox.glob("*.json"))]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    port = unused_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings_for(tmp_path, server=ServerSettings(public_url=url))
    clock = Clock()
    app = create_app(settings, clock=clock, run_dispatcher=False)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield Service(app, url, clock, settings.delivery.outbox_dir)
    finally:
        await server.close()


async def phone(browser: Browser, *, enforce_csp: bool = False) -> Page:
    """A phone-sized page. The page's strict CSP would refuse the injected axe-core, so
    the axe runs bypass it; test_the_strict_csp_lets_only_the_pages_own_style_in checks
    the page under it."""
    context = await browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="nl-NL",
        bypass_csp=not enforce_csp,
    )
    context.set_default_timeout(10_000)
    return await context.new_page()


async def shot(page: Page, name: str) -> None:
    await screenshot(page, name)


async def assert_accessible(page: Page) -> None:
    violations = await axe_violations(page)
    assert violations == [], [(v["id"], v["help"], len(v["nodes"])) for v in violations]


async def open_from_latest_email(page: Page, service: Service, link_name: str) -> None:
    """Show the delivered e-mail's HTML part and tap its case link, as the customer would."""
    html = service.emails()[-1].get_body(("html",))
    assert html is not None
    await page.set_content(html.get_content())
    await page.get_by_role("link", name=link_name).click()
    await page.wait_for_url(f"{service.url}/c/**")


async def test_a_customer_reads_the_history_and_changes_preferences_the_next_message_follows(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    await service.post()  # Ada, Dutch, e-mail first: "received" goes out by e-mail
    page = await phone(browser)
    await open_from_latest_email(
        page, service, "Bekijk je aanvraag en hoe we je op de hoogte houden"
    )

    await expect(page.get_by_role("heading", level=1)).to_have_text("Je aanvraag: Address change")
    history = page.locator("ol.history")
    await expect(history).to_contain_text("We hebben je aanvraag ontvangen.")
    await expect(history).to_contain_text("We stuurden je een e-mail.")
    await expect(page.get_by_text("We verwachten uiterlijk 25 november 2026")).to_be_visible()
    await assert_accessible(page)
    await shot(page, "case-page")

    await page.get_by_label("E-mail", exact=True).uncheck()
    await page.get_by_label("Eerste keuze").select_option("sms")
    await page.get_by_label("Houd berichten tussen 21:00 en 08:00 vast").uncheck()
    await page.get_by_role("button", name="Voorkeuren opslaan").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Opgeslagen. Je volgende bericht volgt deze voorkeuren."
    )
    await expect(page.get_by_label("E-mail", exact=True)).not_to_be_checked()
    await expect(page.get_by_label("Eerste keuze")).to_have_value("sms")
    await expect(history).to_contain_text("Je hebt aangepast hoe we je op de hoogte houden.")
    await assert_accessible(page)
    await shot(page, "case-page-saved")

    # 23:00 in Amsterdam: quiet hours would hold this; the customer switched them off.
    service.clock.now = service.clock.now.replace(hour=22)
    await service.post(id="evt-2", status="waiting_on_customer", occurred_at="2026-11-22T22:00:00Z")
    [text] = service.texts()
    assert "Address change" in text or "C-1001" in text
    assert len(service.emails()) == 1, "no e-mail: the customer opted out of it"
    await page.reload()
    await expect(history).to_contain_text("We stuurden je een sms.")
    next_step = page.get_by_text("Zodra we hebben wat we je vroegen, gaan we verder.")
    await expect(next_step).to_be_visible()
    await assert_accessible(page)
    await shot(page, "case-page-next")


async def test_a_bad_link_is_a_plain_accessible_404(browser: Browser, service: Service) -> None:
    await service.post()
    page = await phone(browser)
    response = await page.goto(f"{service.url}/c/v1.Qy0xMDAxCmN1c3QtNDI.AAAAAAAAAAAAAAAAAAAAAA")
    assert response is not None and response.status == 404
    await async_api.expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    await assert_accessible(page)
    await shot(page, "case-page-404")


async def test_the_english_page_for_an_english_customer(browser: Browser, service: Service) -> None:
    customer = {**event()["customer"], "locale": "en-GB", "name": "Grace Hopper"}
    await service.post(customer=customer, data={"case_title": "Insurance claim"})
    page = await phone(browser)
    await open_from_latest_email(page, service, "See your case and how we keep you posted")
    await async_api.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your request: Insurance claim"
    )
    await async_api.expect(page.locator("ol.history")).to_contain_text("We received your request.")
    await assert_accessible(page)
    await shot(page, "case-page-en")


async def test_the_strict_csp_lets_only_the_pages_own_style_in(
    browser: Browser, service: Service
) -> None:
    await service.post()
    page = await phone(browser, enforce_csp=True)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    await open_from_latest_email(
        page, service, "Bekijk je aanvraag en hoe we je op de hoogte houden"
    )
    button = page.get_by_role("button", name="Voorkeuren opslaan")
    color = await button.evaluate("b => getComputedStyle(b).backgroundColor")
    assert color == "rgb(11, 92, 173)"  # the hashed inline style applied
    blocked = await page.evaluate(
        """() => { const s = document.createElement("style");
                   s.textContent = "body { color: red }"; document.head.append(s);
                   return getComputedStyle(document.body).color; }"""
    )
    assert blocked != "rgb(255, 0, 0)"  # any other inline style is refused
    await button.click()
    await async_api.expect(page.get_by_role("status")).to_contain_text("Opgeslagen")
    assert refused == [] or all("body { color: red }" in r or "style-src" in r for r in refused)


async def test_a_marketer_edits_the_words_in_the_studio_and_the_page_says_them(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    await service.post()
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(10_000)
    studio = await context.new_page()
    await studio.goto(f"{service.url}/studio/")
    await studio.get_by_label("Your name").fill("Ada")
    await studio.get_by_label("Admin token").fill(ADMIN_TOKEN)
    await studio.get_by_role("button", name="Sign in").click()
    await studio.get_by_role("link", name="Case page words").click()
    await studio.get_by_role("link", name="_page/page.nl.j2").click()
    source = studio.locator("#source")
    text = await source.input_value()
    await source.fill(text.replace("Wat er nu gebeurt", "Zo gaat het verder"))
    await studio.get_by_role("button", name="Preview").click()
    preview = studio.frame_locator("iframe.page-preview")
    await expect(preview.get_by_role("heading", name="Zo gaat het verder")).to_be_visible()
    await screenshot(studio, "studio/page-words")
    await studio.get_by_role("button", name="Publish").click()
    await expect(studio.get_by_role("status")).to_contain_text("Published version 1")

    page = await phone(browser)
    await open_from_latest_email(
        page, service, "Bekijk je aanvraag en hoe we je op de hoogte houden"
    )
    await expect(page.get_by_role("heading", name="Zo gaat het verder")).to_be_visible()
