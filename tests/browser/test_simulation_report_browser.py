"""The simulation's HTML report in a real headless Chromium: its charts draw without
JavaScript, it passes axe-core (WCAG 2.2 AA), and the worked example of
docs/simulation.md is pictured in docs/simulation/report.png."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.browser.chromium import (
    PLAYWRIGHT_HINT,
    axe_violations,
    screenshot,
)

from groundcontrol.planning.journeys import load_journeys
from groundcontrol.settings import Settings, TemplateSettings
from groundcontrol.simulation.events_file import event_line, parse_lines
from groundcontrol.simulation.report_html import html_report
from groundcontrol.simulation.runner import Scenario, replay
from groundcontrol.simulation.summary import Summary, summarise
from groundcontrol.simulation.synthetic import Shape, generate

if TYPE_CHECKING:
    from playwright.async_api import Browser

async_api = pytest.importorskip("playwright.async_api", reason=PLAYWRIGHT_HINT)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "simulation" / "report.html"


async def summary(journeys: Path) -> Summary:
    lines = [event_line(b) for b in generate(Shape(60, 7, seed=4))]
    events = parse_lines(lines, "synthetic", strict=True).events
    settings = Settings(templates=TemplateSettings(dir=REPO / "templates"))
    scenario = Scenario(load_journeys(journeys), settings)
    return summarise(await replay(events, scenario), journeys.name)


async def test_the_compared_report_draws_without_script_and_passes_axe(
    browser: Browser, tmp_path: Path
) -> None:
    a = await summary(REPO / "config" / "journeys.toml")
    b = await summary(REPO / "docs" / "simulation" / "journeys-proposal.toml")
    page_file = tmp_path / "report.html"
    page_file.write_text(html_report(a, b), encoding="utf-8")

    without_js = await browser.new_context(java_script_enabled=False)
    page = await without_js.new_page()
    await page.goto(page_file.as_uri())
    charts = page.get_by_role("img")
    assert await charts.count() == 3
    await async_api.expect(charts.first).to_be_visible()
    assert "Dark time per case" in (await charts.first.get_attribute("aria-label") or "")

    page = await (await browser.new_context()).new_page()
    await page.goto(page_file.as_uri())
    assert await axe_violations(page) == []


async def test_the_worked_example_passes_axe_and_is_pictured(browser: Browser) -> None:
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    await page.goto(EXAMPLE.as_uri())
    assert await axe_violations(page) == []
    await screenshot(page, "simulation/report")
