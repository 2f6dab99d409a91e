"""Group commit: concurrent callers share one transaction (one fsync) per burst.

While a batch commits, new items queue; the next batch takes all of them. Under no
load a lone item commits at once, so latency is one commit, never a timer.

A batch that fails is retried once with each caller isolated, when the committer
has an `isolate` (each caller's items under its own savepoint, one commit): a poison
caller then costs the batch one extra transaction however many poison callers it
holds, and the next few batches are committed isolated straight away. Without one,
the batch is split in halves and each half committed again, down to the caller whose
items break it: k bad callers among n cost about 2·k·log2(n/k) extra commits, not n,
and each good half is answered as soon as it commits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

log = logging.getLogger(__name__)

_ONE_BY_ONE = 4
_STAY_ISOLATED = 8

# One caller's items and the future its `submit` awaits.
Entry = tuple[Sequence[Item], "asyncio.Future[list[Result]]"]
# Commit each caller's items on its own, in one transaction: results or the error.
Isolate = Callable[[Sequence[Sequence[Item]]], Awaitable[list[list[Result] | Exception]]]


class GroupCommitter(Generic[Item, Result]):
    """`await submit(items)` returns one result per item, in order."""

    def __init__(
        self,
        commit: Callable[[Sequence[Item]], Awaitable[list[Result]]],
        *,
        max_batch: int = 500,
        isolate: Isolate[Item, Result] | None = None,
    ) -> None:
        self._commit = commit
        self._isolate = isolate
        # After a failed batch, the next few go straight to the isolated commit: a
        # poison sender is usually still sending, and a batch that fails first costs
        # its whole work twice.
        self._isolated_batches_left = 0
        self._max_batch = max_batch
        self._queue: asyncio.Queue[Entry[Item, Result]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Commit what is queued, then stop."""
        if self._worker is None:
            return
        await self._queue.join()
        self._worker.cancel()
        await asyncio.gather(self._worker, return_exceptions=True)
        self._worker = None

    async def submit(self, items: Sequence[Item]) -> list[Result]:
        self.start()
        future: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        await self._queue.put((items, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0][0])
            while size < self._max_batch and not self._queue.empty():
                entry = self._queue.get_nowait()
                batch.append(entry)
                size += len(entry[0])
            try:
                await self._commit_next(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit_next(self, batch: list[Entry[Item, Result]]) -> None:
        if self._isolate is not None and self._isolated_batches_left > 0 and len(batch) > 1:
            self._isolated_batches_left -= 1
            await self._commit_isolated(batch)
        else:
            await self._commit_batch(batch)

    async def _commit_batch(self, batch: list[Entry[Item, Result]]) -> None:
        items = [item for chunk, _ in batch for item in chunk]
        try:
            results = await self._commit(items)
        except Exception as error:
            if len(batch) == 1:
                log.error("commit failed for one caller's %d item(s)", len(items), exc_info=True)
                _fail(batch[0][1], error)
                return
            if self._isolate is not None:
                self._isolated_batches_left = _STAY_ISOLATED
                await self._commit_isolated(batch)
                return
            for part in _split(batch):
                await self._commit_batch(part)
            return
        offset = 0
        for chunk, future in batch:
            if not future.done():
                future.set_result(results[offset : offset + len(chunk)])
            offset += len(chunk)

    async def _commit_isolated(self, batch: list[Entry[Item, Result]]) -> None:
        assert self._isolate is not None
        try:
            outcomes = await self._isolate([chunk for chunk, _ in batch])
        except Exception as error:  # the store itself failed: nobody's items are in
            log.error("isolated commit of %d callers failed", len(batch), exc_info=True)
            for _, future in batch:
                _fail(future, error)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error("commit failed for one caller", exc_info=outcome)
                _fail(future, outcome)
            elif not future.done():
                future.set_result(outcome)


def _split(batch: list[Entry[Item, Result]]) -> list[list[Entry[Item, Result]]]:
    """Halves; or, for a few callers, each alone (bisecting 3 or 4 takes more commits)."""
    if len(batch) <= _ONE_BY_ONE:
        return [[entry] for entry in batch]
    middle = len(batch) // 2
    return [batch[:middle], batch[middle:]]


def _fail(future: asyncio.Future[list[Result]], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)
