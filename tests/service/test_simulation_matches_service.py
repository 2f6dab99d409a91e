"""The simulator is the service: one small history, replayed through the live service
(real HTTP, SQLite, aiosmtpd, the Twilio peer and a chat sink, an injected clock) and
through `simulate`'s replay (memory store, simulated channels, a virtual clock), gives
the same messages at the same moments and the same timelines.

Both move their clock the same way: to the next event or the next moment the store has
something due, whichever comes first, then drain the dispatcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.service.harness import JOURNEYS, NOW, SOURCE_TOKEN, Service, World, customer

from groundcontrol import keys
from groundcontrol.simulation.events_file import event_line, read_events
from groundcontrol.simulation.runner import Scenario, replay

Normalised = tuple[str, str, Any, Any, Any]


def _history(world: World) -> list[dict[str, Any]]:
    """Three customers, four cases: coalescing, a newer status superseding, follow-ups,
    quiet hours in Tokyo, an unknown status and a customer with no channel."""
    ada = customer(world.peers, "sms", "email")
    tokyo = customer(world.peers, "chat", "email", id="cust-tokyo", timezone="Asia/Tokyo")
    nobody = customer(world.peers, id="cust-none", channels=[])

    def event(seconds: float, case_id: str, status: str, who: dict[str, Any]) -> dict[str, Any]:
        at = NOW + timedelta(seconds=seconds)
        return {
            "source": "crm",
            "id": f"{case_id}-{status}-{seconds:g}",
            "case_id": case_id,
            "status": status,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "customer": who,
            "data": {"case_title": f"Case {case_id}"},
        }

    return [
        event(0, "C-1", "received", ada),
        event(5, "C-2", "received", tokyo),
        event(40, "C-1", "in_progress", {"id": ada["id"]}),
        event(45, "C-1", "waiting_on_customer", {"id": ada["id"]}),
        event(60, "C-3", "received", {"id": ada["id"]}),
        event(90, "C-3", "escalated", {"id": ada["id"]}),  # no rule: recorded, sends nothing
        event(120, "C-1", "resolved", {"id": ada["id"]}),
        event(130, "C-4", "received", nobody),
        # 21:05 in Tokyo: the coalesced message waits for the end of quiet hours.
        event(2 * 3600 + 300, "C-2", "in_progress", {"id": tokyo["id"]}),
        event(14 * 3600, "C-2", "resolved", {"id": tokyo["id"]}),
    ]


async def _replay_live(service: Service, bodies: Sequence[dict[str, Any]]) -> None:
    store = service.app[keys.STORE]
    pending = sorted(bodies, key=lambda body: body["occurred_at"])
    end = _at(pending[-1])
    drained = False
    while True:
        due = await store.next_due_at()
        if due is not None and due <= service.clock.now and drained:
            due = service.clock.now + timedelta(seconds=1)
        moments = [m for m in (due, _at(pending[0]) if pending else None) if m is not None]
        if not moments or min(moments) > end:
            return
        service.clock.now = max(service.clock.now, min(moments))
        while pending and _at(pending[0]) <= service.clock.now:
            await _post(service, pending.pop(0))
        await service.drain()
        drained = True


def _at(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(body["occurred_at"])


async def _post(service: Service, body: dict[str, Any]) -> None:
    posted = {key: value for key, value in body.items() if key != "source"}
    response = await service.client.post(
        "/v1/events", json=posted, headers={"Authorization": f"Bearer {SOURCE_TOKEN}"}
    )
    assert response.status == 202, await response.text()


def _normalised(entries: Sequence[dict[str, Any]]) -> list[Normalised]:
    """What a timeline says, without ids and provider wording, which differ by nature."""
    return [
        (
            e["at"],
            e["kind"],
            e["detail"].get("status"),
            e["detail"].get("channel"),
            e["detail"].get("template"),
        )
        for e in entries
    ]


async def test_simulate_replays_a_history_exactly_as_the_live_service_sends_it(
    world: World, tmp_path: Path
) -> None:
    world.configure(journeys='[defaults]\npromise = "1h"\n' + JOURNEYS)  # breaches too
    bodies = _history(world)
    live: dict[str, list[Normalised]] = {}
    world.clock.now = _at(bodies[0])
    async with world.serve() as service:
        await _replay_live(service, bodies)
        for case_id in ("C-1", "C-2", "C-3", "C-4"):
            live[case_id] = _normalised(await service.timeline(case_id))

    events_file = tmp_path / "history.jsonl"
    events_file.write_text("".join(event_line(b) + "\n" for b in reversed(bodies)))
    history = read_events(events_file, strict=True)
    scenario = Scenario(_journeys(world), world.settings, until=_at(bodies[-1]))
    simulated = await replay(history.events, scenario, keep_timelines=True)
    assert simulated.timelines is not None
    replayed = {
        case_id: _normalised([entry.public_dict() for entry in timeline])
        for case_id, timeline in simulated.timelines.items()
    }

    assert replayed == live
    kinds_at = [(entry[0], entry[1]) for entry in live["C-2"]]
    assert ("2026-11-22T12:05:30+00:00", "deferred") in kinds_at, "21:05:30 in Tokyo"
    assert ("2026-11-22T23:00:00+00:00", "sent") in kinds_at, "08:00 in Tokyo"
    assert simulated.ingest == {"no_rule": 1, "planned": 8, "unreachable": 1}
    assert any(kind == "promise_breached" for _, kind, *_ in live["C-2"])
    assert world.peers.total() == sum(
        1 for timeline in live.values() for entry in timeline if entry[1] == "sent"
    )


def _journeys(world: World) -> Any:
    from groundcontrol.planning.journeys import load_journeys

    return load_journeys(world.settings.journeys.file)
