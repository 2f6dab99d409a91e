"""Template bombs on the real app: a render over its budget fails like a broken
template (publish refused with a plain message, a live message failed with the
reason), and the event loop keeps answering /healthz while one renders."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from tests.integration.api_harness import REPO, Api, Clock, event, serve, settings_for
from tests.integration.test_studio_http import SMS, Studio

from groundcontrol import keys
from groundcontrol.app import create_app
from groundcontrol.settings import TemplateSettings

NESTED_LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}Hi"
SLOW_SECONDS = 5.0


@pytest.fixture
async def studio(tmp_path: Path) -> AsyncIterator[Studio]:
    # Unlimited steps and a 5 s deadline: the bomb renders for the whole 5 s.
    limits = TemplateSettings(
        dir=REPO / "templates", max_render_steps=10**12, max_render_seconds=SLOW_SECONDS
    )
    settings = settings_for(tmp_path, templates=limits)
    app = create_app(settings, clock=Clock(), run_dispatcher=False)
    server = TestServer(app)
    await server.start_server()
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    async with TestClient(server, cookie_jar=jar) as client:
        yield Studio(client, app, settings.delivery.outbox_dir)


async def test_healthz_answers_while_a_bomb_preview_renders(studio: Studio) -> None:
    await studio.sign_in()
    preview = asyncio.create_task(
        studio.client.post(
            f"{SMS}/preview",
            data={"source": NESTED_LOOPS, "sample": "received"},
            headers={"X-CSRF-Token": studio.csrf},
        )
    )
    # When rendering blocked the event loop, this sleep (on the same loop as the server)
    # only returned after the render, and /healthz after the preview.
    await asyncio.sleep(0.3)
    started = time.perf_counter()
    health = await studio.client.get("/healthz")
    waited = time.perf_counter() - started
    assert health.status == 200
    assert not preview.done(), f"/healthz waited for the render ({waited:.3f} s)"
    response = await preview
    assert response.status == 200
    assert f"took more than {SLOW_SECONDS:g} s" in await response.text()


async def test_publishing_a_bomb_is_refused_with_a_plain_message(tmp_path: Path) -> None:
    limits = TemplateSettings(dir=REPO / "templates", max_render_steps=10_000)
    settings = settings_for(tmp_path, templates=limits)
    app = create_app(settings, clock=Clock(), run_dispatcher=False)
    server = TestServer(app)
    await server.start_server()
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    async with TestClient(server, cookie_jar=jar) as client:
        studio = Studio(client, app, settings.delivery.outbox_dir)
        await studio.sign_in()
        response = await studio.post(
            f"{SMS}/publish", source=NESTED_LOOPS, version="0", revision="0"
        )
        assert response.status == 422
        assert "template ran more than 10000 loop steps and calls" in await response.text()
        assert await app[keys.TEMPLATE_STORE].published() == {}


@pytest.fixture
async def bomb_api(tmp_path: Path) -> AsyncIterator[Api]:
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    for file in (templates / "case_received").iterdir():
        file.unlink()
    (templates / "case_received" / "sms.j2").write_text(NESTED_LOOPS)
    (templates / "case_received" / "email.j2").write_text(
        "{% block subject %}S{% endblock %}{% block text %}" + NESTED_LOOPS + "{% endblock %}"
    )
    limits = TemplateSettings(dir=templates, max_render_steps=10_000)
    async with serve(settings_for(tmp_path, templates=limits)) as running:
        yield running


async def test_a_live_message_over_budget_fails_with_the_reason(bomb_api: Api) -> None:
    response = await bomb_api.post_event(event())
    assert response.status == 202, await response.text()
    await bomb_api.drain()
    notifications = await bomb_api.notifications(case_id="C-1001")
    assert notifications, "the planned message and its fallback"
    for notification in notifications:
        assert notification["state"] in {"failed", "dead"}, notification
        assert "loop steps" in (notification["last_error"] or ""), notification
