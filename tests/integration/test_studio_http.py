"""The studio over a real socket: sign-in, CSRF, edit conflicts, blocked and
successful publishes, restore, and a test send, on the real app and SQLite."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, CookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from tests.integration.api_harness import ADMIN_TOKEN, REPO, Clock, event, settings_for

from groundcontrol import keys
from groundcontrol.app import create_app
from groundcontrol.domain import ChannelName
from groundcontrol.settings import AdminSettings
from groundcontrol.store.templates import TemplateKey
from groundcontrol.studio.fields import split
from groundcontrol.studio.session import SESSION_COOKIE

SMS = "/studio/templates/case_received/sms"
Client = TestClient[web.Request, web.Application]


@dataclass
class Studio:
    client: Client
    app: web.Application
    outbox: Path
    csrf: str = ""

    async def sign_in(self, token: str = ADMIN_TOKEN, name: str = "Ada") -> ClientResponse:
        page = await self.client.get("/studio/login")
        login_csrf = field(await page.text(), "csrf")
        response = await self.client.post(
            "/studio/login",
            data={"csrf": login_csrf, "token": token, "name": name, "next": SMS},
        )
        if response.status == 200:
            self.csrf = field(await response.text(), "csrf-token", attribute="content")
        return response

    async def post(self, path: str, **data: Any) -> ClientResponse:
        return await self.client.post(path, data={"csrf": self.csrf, **data})

    async def send_event(self, case_id: str, channel: ChannelName = "sms") -> None:
        body = event(id=f"evt-{case_id}", case_id=case_id)
        body["customer"] = {**body["customer"], "locale": "en", "channels": [channel]}
        response = await self.client.post(
            "/v1/events", json=body, headers={"Authorization": "Bearer crm-token"}
        )
        assert response.status == 202, await response.text()
        await self.app[keys.DISPATCHER].drain()

    def sms_bodies(self) -> list[str]:
        files = sorted(self.outbox.glob("*.json"))
        return [json.loads(path.read_text())["body"] for path in files]


def text(html: str) -> str:
    """What a reader sees: the page without its tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def field(html: str, name: str, attribute: str = "value") -> str:
    pattern = rf'name="{name}" {attribute}="([^"]*)"'
    match = re.search(pattern, html)
    assert match, f"no {name} in the page"
    return match.group(1)


@pytest.fixture
async def studio(tmp_path: Path) -> AsyncIterator[Studio]:
    settings = settings_for(tmp_path)
    app = create_app(settings, clock=Clock(), run_dispatcher=False)
    server = TestServer(app)
    await server.start_server()
    # The session cookie is Secure: treat the loopback test server as a secure origin,
    # as browsers treat http://localhost.
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    async with TestClient(server, cookie_jar=jar) as client:
        yield Studio(client, app, settings.delivery.outbox_dir)


async def test_pages_need_a_session(studio: Studio) -> None:
    response = await studio.client.get(SMS, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/studio/login?next=")


async def test_the_wrong_token_does_not_sign_in(studio: Studio) -> None:
    response = await studio.sign_in(token="guess")
    assert response.status == 401
    assert "not the admin token" in await response.text()
    assert (await studio.client.get(SMS, allow_redirects=False)).status == 303


async def test_sign_in_sets_a_strict_secure_http_only_cookie(studio: Studio) -> None:
    page = await studio.client.get("/studio/login")
    response = await studio.client.post(
        "/studio/login",
        data={"csrf": field(await page.text(), "csrf"), "token": ADMIN_TOKEN, "name": "Ada"},
        allow_redirects=False,
    )
    cookie = response.headers["Set-Cookie"]
    assert response.status == 303
    for flag in ("HttpOnly", "Secure", "SameSite=Strict"):
        assert flag in cookie
    # One sign-in for the studio and the ops dashboard (/ops): the session is the site's.
    assert response.cookies[SESSION_COOKIE]["path"] == "/"


async def test_a_post_without_the_csrf_token_is_refused(studio: Studio) -> None:
    assert (await studio.sign_in()).status == 200
    response = await studio.client.post(f"{SMS}/publish", data={"source": "x", "version": "0"})
    assert response.status == 403
    forged = await studio.client.post(
        f"{SMS}/publish", data={"source": "x", "version": "0", "csrf": "forged"}
    )
    assert forged.status == 403
    assert await studio.app[keys.TEMPLATE_STORE].published() == {}


async def test_a_login_without_its_csrf_token_is_refused(studio: Studio) -> None:
    await studio.client.get("/studio/login")
    response = await studio.client.post("/studio/login", data={"token": ADMIN_TOKEN, "name": "Ada"})
    assert response.status == 403


async def test_the_list_shows_coverage(studio: Studio) -> None:
    await studio.sign_in()
    await studio.post(f"{SMS}/publish", source="Hi {{ case.id }}", version="0", revision="0")
    shown = text(await (await studio.client.get("/studio/templates")).text())
    assert "Case received, SMS: English (default) v1" in shown
    assert "Case received, SMS: Dutch ready" in shown
    assert "When a case becomes received" in shown


async def test_preview_renders_the_draft_with_segments(studio: Studio) -> None:
    await studio.sign_in()
    response = await studio.client.post(
        f"{SMS}/preview",
        data={
            "source": "Hi {{ customer.first_name }}, case {{ case.id }} € ",
            "sample": "received",
        },
        headers={"X-CSRF-Token": studio.csrf},
    )
    html = await response.text()
    assert response.status == 200
    assert "Hi Ada, case C-1001 €" in html
    assert "Text messages 1 (each send is billed as 1" in text(html)
    assert "Encoding GSM-7" in text(html)


async def test_publish_is_blocked_with_the_error_at_its_line(studio: Studio) -> None:
    await studio.sign_in()
    source = "Hello\n{{ customer.first_name }}\n{{ case.nonexistent.field }}\n"
    response = await studio.post(f"{SMS}/publish", source=source, version="0", revision="0")
    html = await response.text()
    assert response.status == 422
    assert 'data-line="3">Line 3</a>: <code>case.nonexistent</code> is missing in sample' in html
    syntax = await studio.post(f"{SMS}/publish", source="ok\n{% if %}", version="0", revision="0")
    assert syntax.status == 422
    assert 'data-line="2">Line 2</a>: A <code>{% … %}</code> tag is missing' in await syntax.text()
    await studio.send_event("C-1")
    assert "nonexistent" not in studio.sms_bodies()[0]


async def test_a_publish_is_used_by_the_next_message_sent(studio: Studio) -> None:
    await studio.sign_in()
    source = "Studio words for {{ case.id }}"
    response = await studio.post(f"{SMS}/publish", source=source, version="0", revision="0")
    assert response.status == 200
    assert "Published version 1" in await response.text()
    await studio.send_event("C-2")
    assert studio.sms_bodies() == ["Studio words for C-2"]


async def test_two_editors_get_a_conflict_not_a_silent_overwrite(studio: Studio) -> None:
    await studio.sign_in()
    first = await studio.post(f"{SMS}/save", source="Ada's draft", revision="0", version="0")
    assert first.status == 200
    second = await studio.post(f"{SMS}/save", source="Bob's draft", revision="0", version="0")
    html = await second.text()
    assert second.status == 409
    assert "Someone else changed this message" in html
    assert "Ada&#39;s draft" in html and "Bob&#39;s draft" in html  # theirs shown, mine kept
    stale = await studio.post(f"{SMS}/publish", source="Bob's text", revision="0", version="0")
    assert stale.status == 409


async def test_restore_brings_an_old_version_back(studio: Studio) -> None:
    await studio.sign_in()
    await studio.post(f"{SMS}/publish", source="First {{ case.id }}", version="0", revision="0")
    await studio.post(f"{SMS}/publish", source="Second {{ case.id }}", version="1", revision="0")
    history = await (await studio.client.get(f"{SMS}/history")).text()
    shown = text(history)
    assert "Removed: First {{ case.id }}" in shown and "Added: Second {{ case.id }}" in shown
    response = await studio.post(f"{SMS}/restore", number="1", version="2")
    assert response.status == 200
    await studio.send_event("C-3")
    assert studio.sms_bodies() == ["First C-3"]


async def test_send_test_goes_through_the_channel_marked_as_test(studio: Studio) -> None:
    await studio.sign_in()
    response = await studio.post(
        f"{SMS}/test", source="Test of {{ case.id }}", address="+31 6 87654321", sample="received"
    )
    assert response.status == 200, await response.text()
    [written] = [json.loads(p.read_text()) for p in studio.outbox.glob("*.json")]
    assert (written["to"], written["body"]) == ("+31687654321", "Test of C-1001")
    assert written["case_id"] == "studio-test-case_received"
    timeline = await studio.client.get(
        "/v1/cases/studio-test-case_received/timeline",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert timeline.status == 200
    entries = (await timeline.json())["entries"]
    assert [(e["kind"], e["detail"]["test"]) for e in entries] == [("test_sent", True)]


async def test_recent_real_cases_preview_with_personal_fields_masked(studio: Studio) -> None:
    await studio.sign_in()
    body = event(id="evt-real", case_id="C-REAL-7", data={"case_title": "Meter swap"})
    sent = await studio.client.post(
        "/v1/events", json=body, headers={"Authorization": "Bearer crm-token"}
    )
    assert sent.status == 202
    sample = "recent 1: received, case C•••"
    response = await studio.client.post(
        f"{SMS}/preview",
        data={
            "source": "{{ customer.name }} {{ customer.phone }} {{ case.data.case_title }}",
            "sample": sample,
        },
        headers={"X-CSRF-Token": studio.csrf},
    )
    html = await response.text()
    assert response.status == 200
    assert "Ada L••• +31•••78 Meter swap" in html
    assert "Lovelace" not in html
    assert "12345678" not in html


async def test_a_draft_must_render_for_recent_real_cases_too(studio: Studio) -> None:
    await studio.sign_in()
    body = event(id="evt-real", case_id="C-REAL-8", data={"reference": "R-1"})
    sent = await studio.client.post(
        "/v1/events", json=body, headers={"Authorization": "Bearer crm-token"}
    )
    assert sent.status == 202
    # Every bundled sample has a case title; this real case has none.
    source = "Update on {{ case.data.case_title }}"
    response = await studio.post(f"{SMS}/publish", source=source, version="0", revision="0")
    html = await response.text()
    assert response.status == 422
    assert "recent 1: received" in html


EMAIL = "/studio/templates/case_received/email"
EMAIL_FILE = REPO / "templates" / "case_received" / "email.j2"


async def test_the_simple_editor_shows_fields_and_saves_the_file_byte_for_byte(
    studio: Studio,
) -> None:
    await studio.sign_in()
    page = await (await studio.client.get(EMAIL)).text()
    assert "{% block" not in page.split('id="preview"')[0]  # no scaffolding in the editor
    assert 'name="subject"' in page and 'name="body"' in page
    original = EMAIL_FILE.read_text(encoding="utf-8")
    fields = split("email", original)
    assert fields is not None
    saved = await studio.post(
        f"{EMAIL}/save",
        mode="simple",
        subject=fields.subject,
        body=fields.body.replace("\n", "\r\n"),  # as a browser posts a textarea
        layout=fields.layout,
        revision="0",
        version="0",
    )
    assert saved.status == 200
    draft = await studio.app[keys.TEMPLATE_STORE].draft(TemplateKey.parse("case_received/email.j2"))
    assert draft is not None and draft.source == original


async def test_a_subject_and_message_published_from_fields_reach_the_next_email(
    studio: Studio,
) -> None:
    await studio.sign_in()
    response = await studio.post(
        f"{EMAIL}/publish",
        mode="simple",
        subject="New subject for {{ case.id }}",
        body="New words.\n",
        layout="_layouts/email.j2",
        revision="0",
        version="0",
    )
    assert response.status == 200, await response.text()
    await studio.send_event("C-9", channel="email")
    [sent] = [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in studio.outbox.glob("*.eml")
    ]
    assert sent["Subject"] == "New subject for C-9"


async def test_send_test_returns_to_the_editor_with_the_text_kept_as_a_draft(
    studio: Studio,
) -> None:
    await studio.sign_in()
    response = await studio.client.post(
        f"{SMS}/test",
        data={
            "csrf": studio.csrf,
            "mode": "simple",
            "body": "Test of {{ case.id }}",
            "address": "+31687654321",
            "sample": "received",
            "revision": "0",
            "version": "0",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    location = response.headers["Location"]
    assert location.startswith(f"{SMS}?") and "tested=%2B31687654321" in location
    page = await (await studio.client.get(location)).text()
    assert "Test sent to +31687654321. Your text is kept as draft revision 1" in page
    assert "Test of {{ case.id }}</textarea>" in page


async def test_switching_editors_keeps_unsaved_words(studio: Studio) -> None:
    await studio.sign_in()
    fields = {
        "mode": "simple",
        "subject": "Changed",
        "body": "Body\n",
        "layout": "_layouts/email.j2",
    }
    advanced = await studio.post(f"{EMAIL}/switch", to="advanced", **fields)
    html = await advanced.text()
    assert "{% block subject %}Changed{% endblock %}" in html
    assert 'name="source"' in html
    back = await studio.post(
        f"{EMAIL}/switch", to="simple", mode="advanced", source="{% block html %}x{% endblock %}"
    )
    assert "the simple editor cannot show" in await back.text()


async def test_messages_can_be_found_by_what_happens_to_the_case(studio: Studio) -> None:
    await studio.sign_in()
    found = text(await (await studio.client.get("/studio/templates?q=resolved")).text())
    assert "1 of 6 messages" in found and "Case resolved" in found
    assert "Still working" not in found


async def test_the_journey_map_lists_every_status_with_its_follow_up(studio: Studio) -> None:
    await studio.sign_in()
    shown = text(await (await studio.client.get("/studio/journeys")).text())
    assert "When a case becomes waiting on customer At once (high priority)" in shown
    assert "After 24 h of silence, then every 48 h, at most 2 times Waiting reminder" in shown
    assert "No gaps" in shown


async def test_a_new_email_opens_with_empty_subject_and_message_fields(studio: Studio) -> None:
    await studio.sign_in()
    page = await (await studio.client.get("/studio/templates/brand_new/email")).text()
    assert 'id="subject" name="subject" class="field" value=""' in page
    assert 'name="body"' in page and 'name="source"' not in page


async def test_sign_out_ends_the_session_on_the_server_not_only_in_the_browser(
    studio: Studio,
) -> None:
    assert (await studio.sign_in()).status == 200
    cookie = next(c for c in studio.client.session.cookie_jar if c.key == "gc_studio").value
    signed_out = await studio.client.post(
        "/studio/logout", data={"csrf": studio.csrf}, allow_redirects=False
    )
    assert signed_out.status == 303
    # A copy of the cookie (another tab, a stolen one) no longer opens the studio.
    copied = await studio.client.get(
        SMS, headers={"Cookie": f"gc_studio={cookie}"}, allow_redirects=False
    )
    assert copied.status == 303
    assert copied.headers["Location"].startswith("/studio/login")


async def test_a_new_admin_token_ends_every_session(studio: Studio, tmp_path: Path) -> None:
    assert (await studio.sign_in()).status == 200
    cookie = next(c for c in studio.client.session.cookie_jar if c.key == "gc_studio").value
    rotated = settings_for(tmp_path, admin=AdminSettings(token=SecretStr("rotated-token")))
    app = create_app(rotated, clock=Clock(), run_dispatcher=False)
    async with TestClient(TestServer(app)) as other:
        response = await other.get(
            SMS, headers={"Cookie": f"gc_studio={cookie}"}, allow_redirects=False
        )
        assert response.status == 303
