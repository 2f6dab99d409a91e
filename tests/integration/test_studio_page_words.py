"""The case page's words in the studio: preview the page per sample, refuse to publish a
broken draft, and publish words the next page view uses."""

from __future__ import annotations

import html
import re

from tests.integration.api_harness import event
from tests.integration.test_studio_http import Studio, studio

from groundcontrol import keys
from groundcontrol.studio.page_words import page_key

__all__ = ["studio"]  # the fixture, shared with the studio's own HTTP tests

EDITOR = "/studio/page/page.nl"


def textarea(page: str) -> str:
    match = re.search(r'<textarea id="source" name="source"[^>]*>(.*?)</textarea>', page, re.S)
    assert match
    return html.unescape(match.group(1))


async def test_the_words_open_with_a_preview_of_the_whole_page(studio: Studio) -> None:
    await studio.sign_in()
    response = await studio.client.get(EDITOR)
    page = await response.text()
    assert response.status == 200
    assert "{% block greeting %}Hallo" in textarea(page)
    assert "Ready to publish" in page
    assert "srcdoc=" in page and "Hoe we je op de hoogte houden" in html.unescape(page)
    listing = await (await studio.client.get("/studio/page")).text()
    assert "_page/page.nl.j2" in listing and "_page/page.j2" in listing


async def test_a_broken_draft_is_not_published(studio: Studio) -> None:
    await studio.sign_in()
    source = textarea(await (await studio.client.get(EDITOR)).text())
    broken = source.replace("{{ customer.first_name }}", "{{ customer.email }}")
    response = await studio.post(f"{EDITOR}/publish", source=broken, version="0", revision="0")
    assert response.status == 422
    assert "Cannot publish yet" in await response.text()
    assert await studio.app[keys.TEMPLATE_STORE].current(page_key("page.nl")) is None


async def test_published_words_are_what_the_next_page_view_says(studio: Studio) -> None:
    await studio.sign_in()
    source = textarea(await (await studio.client.get(EDITOR)).text())
    changed = source.replace("Wat er nu gebeurt", "Zo gaat het verder")
    response = await studio.post(f"{EDITOR}/publish", source=changed, version="0", revision="0")
    assert response.status == 200  # followed the 303 back to the editor
    assert "Published version 1" in await response.text()

    headers = {"Authorization": "Bearer crm-token"}
    assert (await studio.client.post("/v1/events", json=event(), headers=headers)).status == 202
    tokens = studio.app[keys.CASE_TOKENS]
    page = await studio.client.get(f"/c/{tokens.make('C-1001', 'cust-42')}")
    assert "Zo gaat het verder" in await page.text()
