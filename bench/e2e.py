"""Benchmark 2: time from POST to the peer receiving the message, at a steady rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter, load_1min
from bench.load import bodies, open_loop, percentile
from bench.procs import Peer, Service

RATE = 500.0


def channel_env(channel: str, peer: Peer) -> dict[str, str]:
    """Point the service's channel at the peer."""
    if channel == "email":
        return {
            "GC_CHANNELS__EMAIL__HOST": "127.0.0.1",
            "GC_CHANNELS__EMAIL__PORT": str(peer.port),
            "GC_CHANNELS__EMAIL__STARTTLS": "false",
        }
    if channel == "sms":
        from tests.peers.twilio_peer import ACCOUNT_SID, AUTH_TOKEN

        return {
            "GC_CHANNELS__SMS__ACCOUNT_SID": ACCOUNT_SID,
            "GC_CHANNELS__SMS__AUTH_TOKEN": AUTH_TOKEN,
            "GC_CHANNELS__SMS__FROM": "+15005550006",
            "GC_CHANNELS__SMS__API_BASE_URL": peer.url,
        }
    return {}


PEER_KIND = {"chat": "chat", "email": "smtp", "sms": "sms"}


async def run(workdir: Path, seconds: float, rates: list[float]) -> list[dict[str, Any]]:
    rows = []
    for rate in rates:
        for channel in ("chat", "email", "sms"):
            rows.append(await _one(workdir / f"e2e_{channel}_{int(rate)}", channel, rate, seconds))
    return rows


async def _one(workdir: Path, channel: str, rate: float, seconds: float) -> dict[str, Any]:
    from bench.stores import reset

    url = f"sqlite:///{workdir}/gc.db"
    await reset(url)
    with Peer(PEER_KIND[channel]) as peer:
        service = Service(url, workdir, env=channel_env(channel, peer))
        await service.start()
        try:
            warm_up = bodies(50, channel, peer.url)
            await open_loop(service.url, warm_up, 50)
            await peer.wait_for(len(warm_up), within=60)
            payloads = bodies(int(rate * seconds), channel, peer.url)
            with CpuMeter(service.pid) as cpu:
                sent, ingest = await open_loop(service.url, payloads, rate)
                await peer.wait_for(len(warm_up) + len(payloads), within=120)
            arrived = await peer.arrivals()
        finally:
            service.stop()
    delays = [arrived[c] - t for c, t in sent.items() if c in arrived]
    return {
        "channel": channel,
        "offered_per_s": rate,
        "sent": len(sent),
        "delivered": len(delays),
        "p50_ms": round(percentile(delays, 50) * 1000, 1),
        "p99_ms": round(percentile(delays, 99) * 1000, 1),
        "ingest_p99_ms": round(percentile(ingest.latencies, 99) * 1000, 1),
        "achieved_per_s": round(ingest.rate, 1),
        "ingest_errors": ingest.errors,
        "cpu_ms_per_event": cpu.ms_per(len(delays)),
        "load": load_1min(),
    }
