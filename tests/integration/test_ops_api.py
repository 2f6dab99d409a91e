"""Liveness, readiness and Prometheus metrics through a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytest.importorskip("groundcontrol.app", reason="the app factory (groundcontrol/app.py) is missing")

from tests.integration.api_harness import Api, event, expect_problem, serve, settings_for

from groundcontrol import keys


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with serve(settings_for(tmp_path)) as running:
        yield running


async def scrape(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await api.client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


async def test_healthz_says_the_process_is_alive(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_readyz_is_ready_while_the_store_answers(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_store_does_not_answer(api: Api, tmp_path: Path) -> None:
    await api.app[keys.STORE].close()  # drop pooled connections: the next one opens the file
    (tmp_path / "groundcontrol.db").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"groundcontrol.db{suffix}").unlink(missing_ok=True)
    problem = await expect_problem(await api.client.get("/readyz"), 503)
    assert problem["detail"] == "the store does not answer"
    assert (await api.client.get("/healthz")).status == 200


async def test_metrics_count_accepted_and_refused_events(api: Api) -> None:
    assert (await api.post_event(event())).status == 202
    assert (await api.post_event(event())).status == 202  # duplicate
    assert (await api.post_event(event(), token="wrong")).status == 401
    assert (await api.post_event(event(case_id=None))).status == 422
    samples = await scrape(api)
    received = "groundcontrol_events_received_total"
    assert samples[received, frozenset({("source", "crm"), ("outcome", "planned")})] == 1
    assert samples[received, frozenset({("source", "crm"), ("outcome", "duplicate")})] == 1
    rejected = "groundcontrol_events_rejected_total"
    assert samples[rejected, frozenset({("reason", "unauthenticated")})] == 1
    assert samples[rejected, frozenset({("reason", "invalid")})] == 1
    assert samples["groundcontrol_ingest_seconds_count", frozenset()] == 2


async def test_the_state_gauge_is_read_from_the_store_at_scrape_time(api: Api) -> None:
    gauge = "groundcontrol_notifications_state"
    await api.post_event(event())
    assert (await scrape(api))[gauge, frozenset({("state", "pending")})] == 1
    await api.drain()
    samples = await scrape(api)
    assert samples[gauge, frozenset({("state", "pending")})] == 0
    assert samples[gauge, frozenset({("state", "sent")})] == 1
    assert samples["groundcontrol_notifications_sent_total", frozenset({("channel", "email")})] == 1


async def test_ops_endpoints_need_no_token(api: Api) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await api.client.get(path)).status == 200
