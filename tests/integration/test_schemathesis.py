"""Schemathesis against the live app: what /openapi.json documents is what is served.

Every operation gets a bounded number of generated requests (valid and invalid), with
a fixed seed so a run is repeatable; each answer must be documented (status code,
content type, body schema) and never a 5xx. The app runs on a loopback port in a
thread of its own, because Schemathesis calls it with a blocking client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests.integration.api_harness import ADMIN_TOKEN, SOURCE_TOKEN, Clock, settings_for

from groundcontrol.api.openapi import document
from groundcontrol.api.parse_errors import ProblemAppRunner
from groundcontrol.app import create_app

SCHEMA = schemathesis.openapi.from_dict(document())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    allow_header_conformance,
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings_ = settings_for(tmp_path_factory.mktemp("schemathesis"))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    address: dict[str, Any] = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        runner = ProblemAppRunner(create_app(settings_, clock=Clock(), run_dispatcher=False))
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        address["url"] = runner.addresses[0]
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="schemathesis-app", daemon=True)
    thread.start()
    assert started.wait(30), "the app did not start"
    host, port = address["url"][:2]
    yield f"http://{host}:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


@SCHEMA.parametrize()
@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_serves_what_it_documents(case: Any, base_url: str) -> None:
    token = SOURCE_TOKEN if case.path == "/v1/events" else ADMIN_TOKEN
    case.call_and_validate(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
    )
