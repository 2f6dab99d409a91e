"""A worker hung past its lease: the notification is claimed again and delivered, and
the hung worker's late result is refused (fenced by the lease version)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from tests.acceptance.service import (
    CHAT_KEY,
    GroundControl,
    chat_event,
    eventually,
    received_by_case,
)
from tests.peers.chat_sink import ChatSink, Reply

pytestmark = pytest.mark.slow

LEASE = 2.0
HANG = 5.0  # the first send outlives its lease, but not the send timeout


async def test_a_send_hung_past_its_lease_is_reclaimed_and_its_late_result_refused(
    tmp_path: Path,
) -> None:
    service = GroundControl(tmp_path, delivery={"lease": f"{LEASE:g}s", "send_timeout": "20s"})
    async with ChatSink(signing_key=CHAT_KEY) as sink:
        sink.script(Reply(delay=HANG))  # then the default: 200 at once
        try:
            await service.start()
            [case_id] = await service.post_events([chat_event(1, sink.url)])
            await service.wait_for_state("sent", 1, within=15)
            [sent] = await service.notifications(state="sent")
            await sink.wait_for(2)

            await eventually(
                lambda: _first_attempt_fenced(service, sent["id"]),
                within=HANG + 5,
                what="the hung attempt to come back and be refused",
            )
            view = await service.notification(sent["id"])
            kinds = [entry["kind"] for entry in await service.timeline(case_id)]
        finally:
            await service.close()

    first, second = [datetime.fromisoformat(a["started_at"]) for a in view["attempt_log"]]
    assert (second - first).total_seconds() >= LEASE, "claimed again before the lease expired"
    outcomes = [attempt["outcome"] for attempt in view["attempt_log"]]
    assert outcomes == ["fenced", "sent"], outcomes
    assert view["state"] == "sent"
    assert kinds.count("sent") == 1, kinds
    assert "late result" in service.log() and "refused" in service.log()
    assert received_by_case(sink)[case_id] == [sent["message_key"]] * 2


async def _first_attempt_fenced(service: GroundControl, notification_id: str) -> bool:
    view = await service.notification(notification_id)
    return bool(view["attempt_log"][0]["outcome"] == "fenced")
