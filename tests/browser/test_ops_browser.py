"""The ops dashboard in a real headless Chromium against the real service: sign in
through the studio's form, read the golden thread and the darkest cases with JavaScript
off, open a case drawn as one line with its dark stretches and its promise; every page
passes axe-core (WCAG 2.2 AA). Screenshots land in docs/ops/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
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

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

async_api = pytest.importorskip("playwright.async_api", reason=PLAYWRIGHT_HINT)
H = timedelta(hours=1)


@dataclass
class Service:
    app: web.Application
    url: str
    clock: Clock
    sent: int = 0

    async def post(self, case_id: str, status: str, customer: dict[str, Any]) -> None:
        self.sent += 1
        body = event(
            id=f"evt-{self.sent}",
            case_id=case_id,
            status=status,
            occurred_at=self.clock().isoformat(),
            customer=customer,
        )
        async with ClientSession() as http:
            answer = await http.post(
                f"{self.url}/v1/events",
                json=body,
                headers={"Authorization": f"Bearer {SOURCE_TOKEN}"},
            )
            assert answer.status == 202, await answer.text()
        await self.app[keys.DISPATCHER].drain()

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.app[keys.DISPATCHER].drain()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    clock = Clock()
    app = create_app(settings_for(tmp_path), clock=clock, run_dispatcher=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield Service(app, str(server.make_url("")).rstrip("/"), clock)
    finally:
        await server.close()


async def a_week_of_cases(service: Service) -> None:
    """C-1001 hears from us (sent, then a follow-up), C-2002 cannot be reached and breaks
    its 72 h promise, C-3003 arrives with a status no rule answers."""
    reachable = {"id": "cust-42", "email": "ada@example.com", "channels": ["email"]}
    dark = {"id": "cust-7", "name": "Grace", "channels": []}
    await service.post("C-1001", "received", reachable)
    await service.post("C-2002", "received", dark)
    await service.advance(12 * H)
    await service.post("C-3003", "on_hold", {"id": "cust-42"})
    await service.advance(36 * H)  # C-1001's follow-up goes out at 48 h
    await service.advance(30 * H)  # C-2002's promise broke at 72 h


async def signed_in(browser: Browser, service: Service, path: str, *, js: bool = True) -> Page:
    context = await browser.new_context(
        java_script_enabled=js, bypass_csp=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto(f"{service.url}{path}")
    await page.get_by_label("Your name").fill("Olga")
    await page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{service.url}{path}")
    return page


async def shot(page: Page, name: str) -> None:
    await screenshot(page, f"ops/{name}")


async def test_an_operator_reads_the_golden_thread_and_a_case_line(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    await a_week_of_cases(service)
    page = await signed_in(browser, service, "/ops")

    await expect(page.locator("#open-cases")).to_have_text("3")
    await expect(page.locator("#breached-now")).to_have_text("1")
    darkest = page.get_by_role("table").filter(has_text="Dark for").first
    first_row = darkest.locator("tbody tr").first
    await expect(first_row).to_contain_text("C-2002")
    await expect(first_row).to_contain_text("breached")
    await expect(page.get_by_role("table").filter(has_text="Events")).to_contain_text("on_hold")
    deliveries = page.get_by_role("table").filter(has_text="Channel").first
    await expect(deliveries).to_contain_text("email")
    assert await axe_violations(page) == []
    await shot(page, "overview")

    await page.get_by_role("link", name="C-2002").first.click()
    await page.wait_for_url("**/ops/cases/C-2002")
    line = page.get_by_role("img", name="Timeline of case C-2002")
    await expect(line).to_be_visible()
    assert await page.locator("svg.case-line .dark.breached").count() == 1
    assert await page.locator("svg.case-line .promise").count() == 1
    assert await page.locator("svg.case-line .breach").count() == 1
    await expect(page.get_by_role("table").first).to_contain_text("yes")
    assert await axe_violations(page) == []
    await shot(page, "case-breached")

    await page.goto(f"{service.url}/ops/cases/C-1001")
    assert await page.locator("svg.case-line .contact").count() == 2
    assert await page.locator("svg.case-line .dark.breached").count() == 0
    assert await axe_violations(page) == []
    await shot(page, "case-heard")


async def test_the_dashboard_works_without_javascript(browser: Browser, service: Service) -> None:
    expect = async_api.expect
    await a_week_of_cases(service)
    page = await signed_in(browser, service, "/ops", js=False)
    await expect(page.locator("#breached-now")).to_have_text("1")
    await page.get_by_role("link", name="C-2002").first.click()
    await page.wait_for_url("**/ops/cases/C-2002")
    await expect(page.get_by_role("img", name="Timeline of case C-2002")).to_be_visible()


async def test_the_overview_refreshes_itself_where_javascript_runs(
    browser: Browser, service: Service
) -> None:
    page = await signed_in(browser, service, "/ops")
    script = page.locator('script[src="/ops/static/ops.js"]')
    assert await script.count() == 1
    answer = await page.request.get(f"{service.url}/ops/static/ops.js")
    assert "location.reload" in await answer.text()


async def test_the_dashboard_needs_the_sign_in(browser: Browser, service: Service) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{service.url}/ops/cases/C-1001")
    await page.wait_for_url(re.compile(r"/studio/login\?next=/ops/cases/C-1001$"))
    await async_api.expect(page.get_by_label("Admin token")).to_be_visible()
