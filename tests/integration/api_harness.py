"""The real app on a SQLite file, served on loopback, and helpers to talk to it.

Shared by the API integration tests (`test_*_api.py`, `test_openapi.py`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from tests.peers.sqlite import migrated_sqlite_url

from groundcontrol import keys
from groundcontrol.api.problems import PROBLEM_JSON
from groundcontrol.settings import (
    AdminSettings,
    DeliverySettings,
    JourneySettings,
    Settings,
    SourceSettings,
    StoreSettings,
    TemplateSettings,
)
from groundcontrol.signatures import decode_secret, signed_headers

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # 11:00 in Amsterdam: no quiet hours
SOURCE_TOKEN = "crm-token"
SIGNING_SECRET = "whsec_" + base64.b64encode(b"erp-signing-key-0123456789").decode()
ADMIN_TOKEN = "admin-token"
JSON = "application/json"
CLOUDEVENTS = "application/cloudevents+json"

Client = TestClient[web.Request, web.Application]


class Clock:
    """The app's clock; tests move it instead of sleeping."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for one test: its own database and outbox, a token source (crm), a
    Standard Webhooks source (erp) and an admin token."""
    sections: dict[str, Any] = {
        "templates": TemplateSettings(dir=REPO / "templates"),
        "journeys": JourneySettings(file=REPO / "config" / "journeys.toml"),
        "admin": AdminSettings(token=SecretStr(ADMIN_TOKEN)),
        "sources": {
            "crm": SourceSettings(token=SecretStr(SOURCE_TOKEN)),
            "erp": SourceSettings(secret=SecretStr(SIGNING_SECRET)),
        },
        "delivery": DeliverySettings(outbox_dir=tmp_path / "outbox"),
    }
    sections.update(overrides)
    if "store" not in sections:
        sections["store"] = StoreSettings(url=migrated_sqlite_url(tmp_path / "groundcontrol.db"))
    return Settings(**sections)


def event(**changes: Any) -> dict[str, Any]:
    """A valid event (the DESIGN example), with changes."""
    body: dict[str, Any] = {
        "id": "evt-0001",
        "case_id": "C-1001",
        "status": "received",
        "occurred_at": "2026-11-22T10:00:00Z",
        "priority": "high",
        "customer": {
            "id": "cust-42",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "+31 6 12345678",
            "locale": "nl-NL",
            "timezone": "Europe/Amsterdam",
            "channels": ["email", "sms"],
        },
        "data": {"case_title": "Address change", "eta": "2026-11-25"},
    }
    body.update(changes)
    return body


def encode(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


@dataclass
class Api:
    client: Client
    clock: Clock
    app: web.Application

    async def drain(self) -> None:
        """Send everything that is due now."""
        await self.app[keys.DISPATCHER].drain()

    async def post_event(
        self,
        payload: Any,
        *,
        token: str | None = SOURCE_TOKEN,
        content_type: str = JSON,
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        sent = {"Content-Type": content_type, **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return await self.client.post("/v1/events", data=encode(payload), headers=sent)

    async def post_signed(
        self, payload: Any, *, secret: str = SIGNING_SECRET, at: datetime | None = None
    ) -> ClientResponse:
        body = encode(payload)
        signed = signed_headers(decode_secret(secret), "msg-1", at or self.clock(), body)
        return await self.post_event(body, token=None, headers=signed)

    async def admin(self, method: str, path: str, **kwargs: Any) -> ClientResponse:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def timeline(self, case_id: str) -> ClientResponse:
        return await self.admin("GET", f"/v1/cases/{case_id}/timeline")

    async def notifications(self, **query: str) -> list[dict[str, Any]]:
        response = await self.admin("GET", "/v1/notifications", params=query)
        assert response.status == 200, await response.text()
        return (await response.json())["notifications"]  # type: ignore[no-any-return]

    async def assert_nothing_stored(self, case_id: str, customer_id: str | None = None) -> None:
        """A refused request left no trace: no case, and no customer it carried."""
        await expect_problem(await self.timeline(case_id), 404)
        if customer_id is not None:
            await expect_problem(await self.admin("GET", f"/v1/customers/{customer_id}"), 404)


async def expect_problem(
    response: ClientResponse, status: int, fields: set[str] | None = None
) -> dict[str, Any]:
    """Assert an RFC 9457 problem with this status (naming these fields); return it."""
    assert response.status == status, await response.text()
    assert response.content_type == PROBLEM_JSON
    body: dict[str, Any] = await response.json(content_type=PROBLEM_JSON)
    assert body["status"] == status
    assert body["title"]
    if fields is not None:
        assert {error["field"] for error in body["errors"]} == fields, body
    return body


@asynccontextmanager
async def serve(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Api]:
    """The app `groundcontrol serve` runs, on a loopback port. The dispatcher does not
    run on its own: tests call `Api.drain()` so what is sent is decided, not raced."""
    from groundcontrol.app import create_app

    clock = clock or Clock()
    app = create_app(settings, clock=clock, run_dispatcher=False)
    async with TestClient(TestServer(app)) as client:
        yield Api(client, clock, app)
