"""The application factory wires everything once; the demo token warns off loopback."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer, unused_port
from pydantic import SecretStr

from groundcontrol import keys
from groundcontrol.app import create_app, serve, warn_about_demo_token, warn_about_lease
from groundcontrol.channels.outbox import OutboxChannel
from groundcontrol.settings import (
    DEMO_TOKEN,
    DeliverySettings,
    ServerSettings,
    Settings,
    SourceSettings,
)


def demo_settings(host: str) -> Settings:
    return Settings(
        server=ServerSettings(host=host),
        sources={"demo": SourceSettings(token=SecretStr(DEMO_TOKEN))},
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "gateway.internal"])
def test_the_demo_token_warns_loudly_off_loopback(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="groundcontrol"):
        warn_about_demo_token(demo_settings(host))
    assert "PUBLIC DEMO TOKEN" in caplog.text
    assert "demo" in caplog.text


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_the_demo_token_is_fine_on_loopback(host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="groundcontrol"):
        warn_about_demo_token(demo_settings(host))
    assert caplog.text == ""


def test_a_real_token_never_warns(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(
        server=ServerSettings(host="0.0.0.0"),
        sources={"crm": SourceSettings(token=SecretStr("a-long-random-secret"))},
    )
    with caplog.at_level(logging.WARNING, logger="groundcontrol"):
        warn_about_demo_token(settings)
    assert caplog.text == ""


def test_without_credentials_every_channel_writes_to_the_outbox(tmp_path: Path) -> None:
    settings = Settings(store={"url": f"sqlite:///{tmp_path / 'gc.db'}"})  # type: ignore[arg-type]
    app = create_app(settings, run_dispatcher=False)
    channels = app[keys.CHANNELS]
    assert set(channels) == {"email", "sms", "chat"}
    assert all(isinstance(channel, OutboxChannel) for channel in channels.values())


def test_the_app_serves_every_api_area(tmp_path: Path) -> None:
    settings = Settings(store={"url": f"sqlite:///{tmp_path / 'gc.db'}"})  # type: ignore[arg-type]
    app = create_app(settings, run_dispatcher=False)
    paths = {route.resource.canonical for route in app.router.routes() if route.resource}
    expected = {
        "/v1/events",
        "/v1/cases/{case_id}/timeline",
        "/v1/unsubscribe/{token}",
        "/v1/callbacks/twilio/inbound",
        "/healthz",
        "/openapi.json",
    }
    assert expected <= paths
    assert any(path.startswith("/studio") for path in paths)


def test_a_send_timeout_that_outlives_the_lease_warns(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(delivery=DeliverySettings(lease="10s", send_timeout="20s"))
    with caplog.at_level(logging.WARNING, logger="groundcontrol"):
        warn_about_lease(settings)
    assert "slow sends can be duplicated" in caplog.text


def test_the_default_send_timeout_fits_in_the_lease(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="groundcontrol"):
        warn_about_lease(Settings())
    assert caplog.text == ""


async def test_an_app_built_in_process_freezes_nothing(tmp_path: Path) -> None:
    # A test process builds hundreds of apps: freezing each one's garbage made the full
    # collection after it walk all of it inside a render, which then ran over budget.
    settings = Settings(store={"url": f"sqlite:///{tmp_path / 'gc.db'}"})  # type: ignore[arg-type]
    async with TestClient(TestServer(create_app(settings, run_dispatcher=False))):
        assert gc.get_freeze_count() == 0


async def test_serve_freezes_start_up_once_it_listens(tmp_path: Path) -> None:
    settings = Settings(
        store={"url": f"sqlite:///{tmp_path / 'gc.db'}"},  # type: ignore[arg-type]
        server={"host": "127.0.0.1", "port": unused_port()},  # type: ignore[arg-type]
    )
    serving = asyncio.create_task(serve(settings))
    try:
        async with asyncio.timeout(30):  # serve freezes right after it starts listening
            while True:
                if gc.get_freeze_count() > 0:
                    break
                await asyncio.sleep(0.05)
    finally:
        os.kill(os.getpid(), signal.SIGTERM)  # serve's own handler: a graceful stop
        await asyncio.wait_for(serving, 30)
        gc.unfreeze()
