"""The daily retention job, on any store: sweep finished history past `days`, on one
instance at a time (the store's `singleton`), with the store's own `purge`."""

from __future__ import annotations

from datetime import datetime, timedelta

from groundcontrol.store.contract import RetentionReport, Store

SINGLETON = "retention"


async def run_retention(store: Store, days: int, now: datetime) -> RetentionReport | None:
    """Sweep unless `days` is 0 or another instance is sweeping right now (then None:
    that instance's sweep covers the same rows)."""
    if days <= 0:
        return None
    async with store.singleton(SINGLETON) as ours:
        if not ours:
            return None
        return await store.purge(now - timedelta(days=days))
