"""`GET /` in a real headless Chromium: it links every place a newcomer looks for, works
with JavaScript off, passes axe-core (WCAG 2.2 AA); a screenshot lands in docs/home.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp.test_utils import TestServer
from tests.browser.chromium import (
    PLAYWRIGHT_HINT,
    axe_violations,
    screenshot,
)
from tests.integration.api_harness import Clock, settings_for

from groundcontrol.app import create_app

if TYPE_CHECKING:
    from playwright.async_api import Browser

async_api = pytest.importorskip("playwright.async_api", reason=PLAYWRIGHT_HINT)


@pytest.fixture
async def url(tmp_path: Path) -> AsyncIterator[str]:
    app = create_app(settings_for(tmp_path), clock=Clock(), run_dispatcher=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_the_home_page_links_everything_without_javascript(
    browser: Browser, url: str
) -> None:
    context = await browser.new_context(
        java_script_enabled=False, viewport={"width": 900, "height": 700}
    )
    page = await context.new_page()
    await page.goto(f"{url}/")
    for path in ("/studio", "/openapi.json", "/metrics"):
        await async_api.expect(page.get_by_role("link", name=path)).to_be_visible()
    await page.get_by_role("link", name="/openapi.json").click()
    assert page.url == f"{url}/openapi.json"


async def test_the_home_page_passes_axe_and_is_pictured(browser: Browser, url: str) -> None:
    context = await browser.new_context(viewport={"width": 900, "height": 700})
    page = await context.new_page()
    await page.goto(f"{url}/")
    assert await axe_violations(page) == []
    await screenshot(page, "home")
