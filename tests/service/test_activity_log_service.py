"""The service says what it does: a line per accepted event, deferral, send, failure and
dead letter, through the running service; never an e-mail address or a phone number."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from tests.service.harness import EMAIL, PHONE, World, customer

EVENING = datetime(2026, 11, 22, 20, 30, tzinfo=UTC)  # 21:30 in Amsterdam: quiet
MORNING = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "groundcontrol.activity"]


def assert_no_contact_details(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        # Ours only: the twilio SDK's request dumps are turned down by logs.configure.
        if record.levelno >= logging.INFO and record.name.startswith("groundcontrol"):
            text = record.getMessage() + repr(getattr(record, "fields", ""))
            assert EMAIL not in text and PHONE not in text, text


async def test_a_message_deferred_failed_and_sent_is_told_line_by_line(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    world.clock.now = EVENING
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "sms"))
        await service.drain()
        world.peers.twilio.fail_next(status=503, message=f"cannot reach {PHONE} now")
        await service.advance((MORNING - EVENING).total_seconds())
        await service.advance(3600)

    lines = said(caplog)
    assert any(
        "event accepted: source=crm case=C-1001 status=received plan=planned" in line
        for line in lines
    ), lines
    assert any("deferred (not an attempt): quiet hours until 2026-11-23T07:00" in x for x in lines)
    assert any("failed (transient)" in x and "next attempt at" in x for x in lines), lines
    assert any("(sms, case C-1001) sent: provider id SM" in x for x in lines), lines
    assert_no_contact_details(caplog)


async def test_a_dead_letter_is_a_warning_without_the_number(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with world.serve() as service:
        world.peers.twilio.fail_next(
            status=400, code=21211, message=f"The 'To' number {PHONE} is not a valid number"
        )
        await service.post("received", customer=customer(world.peers, "sms", channels=["sms"]))
        await service.drain()

    [dead] = [r for r in caplog.records if "dead letter" in r.getMessage()]
    assert dead.levelno == logging.WARNING
    assert "<phone>" in dead.getMessage()
    assert_no_contact_details(caplog)


async def test_a_status_without_a_rule_is_logged_and_counted(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with world.serve() as service:
        await service.post("teleported", customer=customer(world.peers, "sms"))
        metrics = await (await service.client.get("/metrics")).text()

    assert any(
        "no journey rule for status: source=crm status=teleported" in x for x in said(caplog)
    )
    assert (
        'groundcontrol_events_without_rule_total{source="crm",status="teleported"} 1.0' in metrics
    )
