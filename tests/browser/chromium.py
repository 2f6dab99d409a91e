"""Headless Debian Chromium for the page tests, and axe-core injected into a page.

Needs `apt-get install chromium`, `pip install '.[test]'` (playwright, which drives that
Chromium: never `playwright install`) and `npm ci --prefix tests/browser` (axe-core;
`make install` runs it). A test module is skipped, saying which step is missing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
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
PLAYWRIGHT_HINT = "needs playwright: pip install '.[test]'"


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """WCAG 2.2 A/AA violations axe-core finds on the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate(
        """() => axe.run(document, {runOnly: {type: "tag",
              values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})"""
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations
