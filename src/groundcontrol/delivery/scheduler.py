"""The clock: APScheduler (3.11, in-memory job store) only wakes things up.

What is due is always decided by a query on the store, never by a job's own state,
so a lost job or a restart loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


class Clock:
    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    def every(self, interval: timedelta, job: Callable[[], object], name: str) -> None:
        """Run `job` every `interval`; a run that is still going is not doubled."""
        self._scheduler.add_job(
            job,
            "interval",
            seconds=interval.total_seconds(),
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    def daily(self, hour: int, job: Callable[[], Awaitable[object]], name: str) -> None:
        self._scheduler.add_job(
            job, "cron", hour=hour, id=name, name=name, max_instances=1, coalesce=True
        )

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
