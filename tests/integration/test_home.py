"""`GET /`: a small HTML page linking the studio, the OpenAPI document and the metrics;
the start-up log names the same places."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from tests.integration.api_harness import Clock, settings_for

from groundcontrol.api.home import where_things_are
from groundcontrol.app import create_app


async def test_the_home_page_links_where_things_are(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path), clock=Clock(), run_dispatcher=False)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/")
        page = await response.text()
    assert response.status == 200 and response.content_type == "text/html"
    for link in ('href="/studio"', 'href="/openapi.json"', 'href="/metrics"'):
        assert link in page
    assert "<script" not in page


def test_the_start_up_lines_name_each_place_under_the_address() -> None:
    lines = where_things_are("http://127.0.0.1:8080/")
    assert (
        "Template studio: edit and preview messages (admin sign-in): http://127.0.0.1:8080/studio"
        in lines
    )
    assert any(line.endswith("http://127.0.0.1:8080/openapi.json") for line in lines)
    assert any(line.endswith("http://127.0.0.1:8080/metrics") for line in lines)
