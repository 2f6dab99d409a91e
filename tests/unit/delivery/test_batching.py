"""GroupCommitter: callers arriving during a commit share the next one; a failing batch
is retried caller by caller so only the culprit sees the error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from groundcontrol.delivery.batching import GroupCommitter


class Database:
    """A commit that can be held open, so callers pile up behind it."""

    def __init__(self) -> None:
        self.commits: list[list[str]] = []
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()

    def hold(self) -> None:
        self.gate.clear()
        self.entered.clear()

    async def commit(self, items: Sequence[str]) -> list[str]:
        self.entered.set()
        await self.gate.wait()
        if "bad" in items:
            raise ValueError("constraint violated by 'bad'")
        self.commits.append(list(items))
        return [item.upper() for item in items]


async def test_a_lone_item_commits_at_once() -> None:
    db = Database()
    committer = GroupCommitter(db.commit)
    assert await committer.submit(["a", "b"]) == ["A", "B"]
    assert db.commits == [["a", "b"]]
    await committer.stop()


async def test_callers_arriving_during_a_commit_share_the_next_one() -> None:
    db = Database()
    committer = GroupCommitter(db.commit)
    db.hold()
    first = asyncio.create_task(committer.submit(["a"]))
    await db.entered.wait()
    others = [asyncio.create_task(committer.submit([x])) for x in ("b", "c", "d")]
    await _queued()
    db.gate.set()
    assert await first == ["A"]
    assert [await task for task in others] == [["B"], ["C"], ["D"]]
    assert db.commits == [["a"], ["b", "c", "d"]]
    await committer.stop()


async def test_a_failing_batch_fails_only_the_culprit() -> None:
    db = Database()
    committer = GroupCommitter(db.commit)
    db.hold()
    first = asyncio.create_task(committer.submit(["a"]))
    await db.entered.wait()
    good = asyncio.create_task(committer.submit(["b"]))
    bad = asyncio.create_task(committer.submit(["bad"]))
    also_good = asyncio.create_task(committer.submit(["c", "d"]))
    await _queued()
    db.gate.set()
    assert await first == ["A"]
    assert await good == ["B"]
    with pytest.raises(ValueError, match="constraint violated"):
        await bad
    assert await also_good == ["C", "D"]
    assert db.commits == [["a"], ["b"], ["c", "d"]]
    await committer.stop()


async def test_batches_respect_the_size_limit() -> None:
    db = Database()
    committer = GroupCommitter(db.commit, max_batch=2)
    db.hold()
    first = asyncio.create_task(committer.submit(["a"]))
    await db.entered.wait()
    rest = [asyncio.create_task(committer.submit([x])) for x in ("b", "c", "d")]
    await _queued()
    db.gate.set()
    await asyncio.gather(first, *rest)
    assert db.commits == [["a"], ["b", "c"], ["d"]]
    await committer.stop()


async def test_stop_commits_what_is_queued_first() -> None:
    db = Database()
    committer = GroupCommitter(db.commit)
    db.hold()
    first = asyncio.create_task(committer.submit(["a"]))
    await db.entered.wait()
    queued = asyncio.create_task(committer.submit(["b"]))
    await _queued()
    stopping = asyncio.create_task(committer.stop())
    db.gate.set()
    await stopping
    assert (first.result(), queued.result()) == (["A"], ["B"])
    assert db.commits == [["a"], ["b"]]


async def test_stop_without_any_submit_is_a_no_op() -> None:
    await GroupCommitter(Database().commit).stop()


async def test_a_committer_can_be_used_again_after_stop() -> None:
    db = Database()
    committer = GroupCommitter(db.commit)
    await committer.submit(["a"])
    await committer.stop()
    assert await committer.submit(["b"]) == ["B"]
    await committer.stop()


async def _queued() -> None:
    """One loop turn: every task created before it runs until it awaits its result
    (a put on the unbounded queue never waits), so all of them are queued."""
    await asyncio.sleep(0)
