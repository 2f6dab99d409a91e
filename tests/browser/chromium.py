"""Headless Debian Chromium for the page tests, and axe-core injected into a page.

Needs `apt-get install chromium`, `pip install '.[test]'` (playwright, which drives that
Chromium: never `playwright install`) and `npm ci --prefix tests/browser` (axe-core;
`make install` runs it). A test module is skipped, saying which step is missing."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[2] / "docs"
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


async def screenshot(page: Page, name: str) -> Path:
    """The page's picture for docs/ (`name` relative to it, without .png).

    Into docs/ itself only when asked (`make screenshots`, GC_SCREENSHOTS=1); otherwise
    into a temporary folder, so a test run leaves the working tree as it found it. The
    picture is taken either way: a page that cannot be drawn fails the test."""
    folder = DOCS if os.environ.get("GC_SCREENSHOTS") == "1" else _scratch()
    path = folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    return path


def _scratch() -> Path:
    return Path(tempfile.gettempdir()) / "groundcontrol-screenshots"
