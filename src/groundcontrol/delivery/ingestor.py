"""The path from an accepted event to the dispatcher, as one object a reader can follow:

    ingest(events) -> group commit -> plan (journeys, at the clock's now) -> store
                   -> tell (activity log, metrics) -> wake

A burst of callers shares one transaction (`GroupCommitter`: one fsync); each event is
planned by the pure planner inside it; once committed, the dispatcher is woken so a
message due now goes out without waiting for the next poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from groundcontrol.delivery import activity
from groundcontrol.delivery.batching import GroupCommitter
from groundcontrol.domain import Clock, Event, IngestResult, IngestStatus
from groundcontrol.metrics import Metrics
from groundcontrol.planning.journeys import Journeys
from groundcontrol.planning.plan import Outcome, planner_for
from groundcontrol.planning.promises import QuietWindow
from groundcontrol.store.contract import Store


class Ingestor:
    """Records events durably (committed before the caller hears back) and wakes delivery."""

    def __init__(
        self,
        store: Store,
        journeys: Journeys,
        clock: Clock,
        wake: Callable[[], None],
        *,
        metrics: Metrics | None = None,
        max_batch: int = 500,
        quiet: QuietWindow | None = None,
    ) -> None:
        self._metrics = metrics
        self._store = store
        self._journeys = journeys
        self._clock = clock
        self._wake = wake
        self._quiet = quiet  # promises are kept around the customers' quiet hours
        self._committer = GroupCommitter(
            self._commit, max_batch=max_batch, isolate=self._commit_each
        )

    async def ingest(self, events: Sequence[Event]) -> list[IngestResult]:
        """One result per event, in order, each committed; then the dispatcher wakes."""
        results = await self._committer.submit(events)
        for event, result in zip(events, results, strict=True):
            self._tell(event, result)
        self._wake()
        return results

    async def ingest_each(self, events: Sequence[Event]) -> list[IngestResult | Exception]:
        """Like `ingest`, but one the store refuses fails alone: each event is a caller
        of its own in the group commit (still one transaction while nothing fails), so
        the committer isolates a poison event as it isolates a webhook caller. Its
        exception stands in its place; the others are committed."""
        outcomes = await asyncio.gather(
            *(self._committer.submit([event]) for event in events), return_exceptions=True
        )
        results: list[IngestResult | Exception] = []
        for event, outcome in zip(events, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, Exception):
                    raise outcome  # cancelled: the caller is stopping
                results.append(outcome)
                continue
            [result] = outcome
            self._tell(event, result)
            results.append(result)
        self._wake()
        return results

    def start(self) -> None:
        self._committer.start()

    async def stop(self) -> None:
        """Commit what is queued, then stop."""
        await self._committer.stop()

    async def _commit(self, events: Sequence[Event]) -> list[IngestResult]:
        now = self._clock()
        planner = planner_for(self._journeys, now, self._quiet)
        return await self._store.record_events(events, planner, now)

    async def _commit_each(
        self, groups: Sequence[Sequence[Event]]
    ) -> list[list[IngestResult] | Exception]:
        # A batch failed: each caller's events under a savepoint, one commit for all.
        now = self._clock()
        planner = planner_for(self._journeys, now, self._quiet)
        return await self._store.record_events_each(groups, planner, now)

    def _tell(self, event: Event, result: IngestResult) -> None:
        """Whatever way the event came in (webhook, broker), the log and metrics say so."""
        if result.status is IngestStatus.DUPLICATE:
            activity.event_duplicate(event.source, event.id)
            return
        activity.event_accepted(event.source, event.status, event.case_id, result)
        if result.outcome == Outcome.NO_RULE:
            activity.without_rule(event.source, event.status, event.case_id)
            if self._metrics is not None:
                self._metrics.event_without_rule(event.source, event.status)
