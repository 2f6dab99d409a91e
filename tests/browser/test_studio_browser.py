"""The studio in a real headless Chromium (Debian's `chromium`) driving the real
service, as a marketer uses it: find a message by what happens to the case, edit its
subject and message without a Jinja block tag in sight, insert a field, see the
phone preview, publish, and read the change in the next real message. Every page
visited is checked with axe-core (WCAG 2.2 AA). Screenshots land in docs/studio/."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from tests.browser.chromium import PLAYWRIGHT_HINT, axe_violations, screenshot
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
from groundcontrol.domain import ChannelName

if TYPE_CHECKING:  # at run time, only when installed: see importorskip below
    from playwright.async_api import Browser, Page

DESKTOP = {"width": 1360, "height": 900}
PHONE = {"width": 390, "height": 844}

async_api = pytest.importorskip("playwright.async_api", reason=PLAYWRIGHT_HINT)


@dataclass
class Service:
    app: web.Application
    url: str
    outbox: Path

    async def send_event(self, case_id: str, channel: ChannelName = "sms") -> None:
        """Post an event for a customer who only takes `channel`, and send it."""
        body = event(id=f"evt-{case_id}", case_id=case_id)
        body["customer"] = {**body["customer"], "locale": "en", "channels": [channel]}
        headers = {"Authorization": f"Bearer {SOURCE_TOKEN}"}
        async with ClientSession() as http:
            response = await http.post(f"{self.url}/v1/events", json=body, headers=headers)
            assert response.status == 202, await response.text()
        await self.app[keys.DISPATCHER].drain()

    def sms_bodies(self) -> list[str]:
        return [json.loads(p.read_text())["body"] for p in sorted(self.outbox.glob("*.json"))]

    def emails(self) -> list[EmailMessage]:
        return [
            message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(self.outbox.glob("*.eml"))
        ]


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


async def new_page(browser: Browser, viewport: dict[str, int] = DESKTOP) -> Page:
    # bypass_csp: the studio's CSP allows no inline script, and axe-core is injected
    # as one; the pages' own scripts still run under it.
    context = await browser.new_context(viewport=viewport, bypass_csp=True)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    return await context.new_page()


async def signed_in(browser: Browser, service: Service, name: str, **kwargs: Any) -> Page:
    page = await new_page(browser, **kwargs)
    await page.goto(f"{service.url}/studio/")
    await assert_accessible(page)
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/studio/templates")
    return page


async def assert_accessible(page: Page) -> None:
    """axe-core finds no WCAG 2.2 A/AA violation on the page as it is now."""
    violations = await axe_violations(page)
    assert violations == [], f"{page.url}: {json.dumps(violations, indent=1)}"


async def shot(page: Page, name: str) -> None:
    await screenshot(page, f"studio/{name}")


async def test_a_marketer_changes_what_we_send_when_a_case_is_received(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    page = await signed_in(browser, service, "Ada")
    await assert_accessible(page)
    await shot(page, "messages")

    await page.get_by_label("Find a message").fill("what do we send when a case is received")
    await page.get_by_role("button", name="Find").click()
    row = page.get_by_role("row", name="Case received")
    await expect(row).to_contain_text("When a case becomes received")
    await expect(page.get_by_role("row", name="Still working")).to_contain_text(
        "While a case stays received: after 48 h of silence, then every 72 h, at most 3 times"
    )
    await expect(page.get_by_role("row", name="Case resolved")).to_have_count(0)
    await row.get_by_role("link", name="Case received, E-mail: English (default) ready").click()

    editor = page.locator("#editor")
    await expect(page.get_by_label("Subject line")).to_have_value(
        'We\'ve received your request: {{ case.data.case_title | default("your request") }}'
    )
    for scaffolding in ("{% block", "{% extends", "{% endblock"):
        assert scaffolding not in await editor.inner_text()
        assert scaffolding not in await page.get_by_label("Subject line").input_value()
        assert scaffolding not in await page.get_by_label("Message", exact=True).input_value()

    await page.get_by_label("Subject line").fill("Your request is in, ref ")
    await page.get_by_role("button", name="Case reference").click()  # inserts at the cursor
    await expect(page.get_by_label("Subject line")).to_have_value(
        "Your request is in, ref {{ case.id }}"
    )
    body = page.get_by_label("Message", exact=True)
    await body.fill("Hello from the new words.\n\nYour title: ")
    await page.get_by_role("button", name="Case title").click()
    await expect(body).to_have_value(
        'Hello from the new words.\n\nYour title: {{ case.data.case_title | default("", true) }}'
    )
    await expect(page.locator("#preview .subject")).to_have_text("Your request is in, ref C-1001")
    email_body = page.frame_locator("iframe.html").locator("body")
    await expect(email_body).to_contain_text("Your title: Address change")
    await expect(page.locator(".ok")).to_contain_text("Ready to publish")
    await assert_accessible(page)
    await shot(page, "editor-email")
    await page.get_by_text("Phone width").click()
    assert await page.locator("iframe.html").evaluate("f => f.getBoundingClientRect().width") < 400
    await shot(page, "editor-email-phone")

    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator(".notice")).to_contain_text("Published version 1")
    await service.send_event("C-77", channel="email")
    [sent] = service.emails()
    assert sent["Subject"] == "Your request is in, ref C-77"
    text = sent.get_body(("plain",))
    assert text is not None and "Hello from the new words." in text.get_content()


async def test_the_sms_preview_is_a_phone_with_characters_segments_and_encoding(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    page = await signed_in(browser, service, "Ada")
    await page.get_by_role("link", name="Case received, SMS: Dutch ready").click()
    body = page.get_by_label("Message", exact=True)
    await expect(body).to_have_value(
        (REPO / "templates" / "case_received" / "sms.nl.j2").read_text(encoding="utf-8")
    )
    assert await body.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
    await expect(page.locator(".phone .bubble")).to_contain_text("Hallo Ada, we hebben je")
    facts = page.locator(".sms-facts")
    await expect(facts).to_contain_text("Characters")
    await expect(facts).to_contain_text("GSM-7")
    await assert_accessible(page)
    await shot(page, "editor-sms")  # the whole Dutch SMS, wrapped
    await body.fill("Hoi {{ customer.first_name }} 👋")
    await expect(page.locator(".phone .bubble")).to_have_text("Hoi Ada 👋")
    await expect(facts).to_contain_text("UCS-2")
    await expect(facts.locator("div", has_text="Text messages").locator("dd")).to_contain_text(
        "1 (each send is billed as 1"
    )


async def test_problems_are_in_plain_words_at_their_field_and_line(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    page = await signed_in(browser, service, "Ada")
    await page.goto(f"{service.url}/studio/templates/case_received/email")
    body = page.get_by_label("Message", exact=True)
    await body.fill("Hi,\n\nReady by {{ case.data.eta }}.\n")
    problems = page.locator("#problems")
    await expect(problems).to_contain_text(
        "Message, line 3: case.data.eta is missing in sample minimal; "
        "use {% if case.data.eta %}…{% endif %} or a default"
    )
    await expect(body).to_have_attribute("aria-invalid", "true")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator(".notice")).to_contain_text("Not published")
    await expect(problems).to_contain_text("case.data.eta is missing in sample minimal")
    await problems.get_by_role("link", name="Message, line 3").press("Enter")
    selected = await body.evaluate("e => e.value.slice(e.selectionStart, e.selectionEnd)")
    assert selected == "Ready by {{ case.data.eta }}."
    await assert_accessible(page)
    await shot(page, "publish-blocked")

    await body.fill("Hi {% if %}")
    await expect(problems).to_contain_text(
        "A {% … %} tag is missing what it should test or show before %}"
    )
    assert "end of statement block" not in await problems.inner_text()


async def test_the_advanced_editor_shows_the_whole_template_and_keeps_unsaved_words(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    page = await signed_in(browser, service, "Ada")
    await page.goto(f"{service.url}/studio/templates/case_received/email")
    await page.get_by_label("Subject line").fill("Changed subject")
    await page.get_by_role("button", name="Edit the full template (advanced)").click()
    source = page.get_by_label("Full template (advanced)")
    await expect(source).to_contain_text('{% extends "_layouts/email.j2" %}')
    await expect(source).to_contain_text("{% block subject %}Changed subject{% endblock %}")
    await assert_accessible(page)
    await shot(page, "editor-advanced")
    await page.get_by_role("button", name="Back to the simple editor").click()
    await expect(page.get_by_label("Subject line")).to_have_value("Changed subject")


async def test_history_is_side_by_side_and_a_test_send_returns_to_the_editor(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    page = await signed_in(browser, service, "Ada")
    await page.goto(f"{service.url}/studio/templates/case_received/sms")
    body = page.get_by_label("Message", exact=True)
    await body.fill("Version one for {{ case.id }}")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator(".notice")).to_contain_text("Published version 1")
    await service.send_event("C-1")
    assert service.sms_bodies() == ["Version one for C-1"]

    await body.fill("Version two for {{ case.id }}\nWith a second line.")
    await page.get_by_label("Phone number").fill("+31 6 87654321")
    await page.get_by_role("button", name="Send test").click()
    await page.wait_for_url("**/studio/templates/case_received/sms?*")
    await expect(page.locator(".notice")).to_contain_text("Test sent to +31687654321")
    await expect(body).to_have_value("Version two for {{ case.id }}\nWith a second line.")
    await expect(page.locator(".tests")).to_contain_text("sent · case_received/sms.j2")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator(".notice")).to_contain_text("Published version 2")

    await page.get_by_role("link", name="Version history").click()
    latest = page.locator("#v2 table.diff")
    await expect(latest.locator("tr.changed td.before")).to_have_text(
        "Removed: Version one for {{ case.id }}"
    )
    await expect(latest.locator("tr.changed td.after")).to_have_text(
        "Added: Version two for {{ case.id }}"
    )
    await expect(latest.locator("tr.added td.after")).to_have_text("Added: With a second line.")
    await assert_accessible(page)
    await shot(page, "history")
    await page.get_by_role("button", name="Restore version 1").click()
    await expect(page.locator(".notice")).to_contain_text("Restored version 1")
    await service.send_event("C-2")
    assert service.sms_bodies()[-1] == "Version one for C-2"


async def test_the_journey_map_shows_each_status_its_messages_and_the_gaps(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    page = await signed_in(browser, service, "Ada")
    # A French translation is started: French becomes a language every message lacks.
    new = page.get_by_role("region", name="Add a message or a language")
    await new.get_by_label("Name").fill("case_received")
    await new.get_by_label("Channel").select_option("sms")
    await new.get_by_label("Language").fill("fr")
    await new.get_by_role("button", name="Open editor").click()
    await expect(page.locator("h1")).to_contain_text("SMS · French")
    await page.get_by_label("Message", exact=True).fill("Bonjour {{ customer.first_name }}")
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.locator(".notice")).to_contain_text("Draft saved")

    await page.get_by_role("link", name="Messages").click()
    await page.get_by_role("link", name="journey map").click()
    received = page.get_by_role("region", name="When a case becomes received")
    await expect(received).to_contain_text("At once")
    await expect(received).to_contain_text("Case received")
    await expect(received).to_contain_text(
        "After 48 h of silence, then every 72 h, at most 3 times"
    )
    await expect(received).to_contain_text("Still working")
    await expect(page.locator(".gaps-note")).to_contain_text("18 gaps")  # 6 messages x 3 channels
    await expect(
        received.get_by_role("link", name="Case received, SMS, French: missing, draft")
    ).to_be_visible()
    await assert_accessible(page)
    await shot(page, "journeys")
    await received.get_by_role("link", name="Case received, SMS, Dutch: ready").click()
    await expect(page.locator("h1")).to_contain_text("Case received")


async def test_the_editor_works_on_a_phone_and_with_the_keyboard_alone(
    browser: Browser, service: Service
) -> None:
    expect = async_api.expect
    page = await signed_in(browser, service, "Ada", viewport=PHONE)
    await page.goto(f"{service.url}/studio/templates/case_received/sms")
    body = page.get_by_label("Message", exact=True)
    await body.focus()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(" Bye ")
    await page.get_by_role("button", name="First name").focus()
    await page.keyboard.press("Enter")
    await expect(body).to_have_value(
        re.compile(re.escape('Bye {{ customer.first_name | default("", true) }}') + "$")
    )
    await expect(page.locator(".phone .bubble")).to_contain_text("Bye Ada")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await assert_accessible(page)
    await shot(page, "editor-sms-phone")


async def test_two_people_editing_get_a_conflict(browser: Browser, service: Service) -> None:
    expect = async_api.expect
    ada = await signed_in(browser, service, "Ada")
    bob = await signed_in(browser, service, "Bob")
    for page in (ada, bob):
        await page.goto(f"{service.url}/studio/templates/case_received/chat")

    await ada.get_by_label("Message", exact=True).fill("Ada's words for {{ case.id }}")
    await ada.get_by_role("button", name="Save draft").click()
    await expect(ada.locator(".notice")).to_contain_text("Draft saved")

    await bob.get_by_label("Message", exact=True).fill("Bob's words for {{ case.id }}")
    await bob.get_by_role("button", name="Save draft").click()
    await expect(bob.locator(".conflict")).to_contain_text("Someone else changed this message")
    await expect(bob.locator(".conflict pre")).to_have_text("Ada's words for {{ case.id }}")
    await expect(bob.get_by_label("Message", exact=True)).to_have_value(
        "Bob's words for {{ case.id }}"
    )
    await assert_accessible(bob)
    await shot(bob, "conflict")
