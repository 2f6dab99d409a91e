"""The one headless Chromium every page test drives (tests/browser/chromium.py says what
it needs). A test is skipped, naming the missing step, when Chromium, axe-core or
playwright is not installed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from tests.browser.chromium import ARGS, AXE, CHROMIUM, PLAYWRIGHT_HINT

if TYPE_CHECKING:
    from playwright.async_api import Browser


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's Chromium: apt-get install chromium")
    if not AXE.exists():
        pytest.skip("needs axe-core: npm ci --prefix tests/browser (make install)")
    async_api = pytest.importorskip("playwright.async_api", reason=PLAYWRIGHT_HINT)
    async with async_api.async_playwright() as playwright:
        launched: Browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS
        )
        yield launched
        await launched.close()
