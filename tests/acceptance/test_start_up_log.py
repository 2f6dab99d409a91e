"""`groundcontrol serve` as a real process tells a newcomer where things are, and says
what it does with each event and send (text lines here; JSON lines in unit tests)."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.service import CHAT_KEY, GroundControl, chat_event, eventually
from tests.peers.chat_sink import ChatSink


async def test_the_start_up_log_names_the_api_studio_document_and_metrics(
    tmp_path: Path,
) -> None:
    service = GroundControl(tmp_path)
    async with ChatSink(signing_key=CHAT_KEY) as sink:
        try:
            await service.start()
            log = service.log()
            for place in ("/v1/events", "/studio", "/openapi.json", "/metrics"):
                assert f"{service.base_url}{place}" in log, log
            await service.post_events([chat_event(1, sink.url)])

            async def sent() -> bool:
                return "(chat, case" in service.log() and " sent: " in service.log()

            await eventually(sent, within=20, what="the send's log line")
            assert "event accepted: source=crm" in service.log()
        finally:
            await service.close()
