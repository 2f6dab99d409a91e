"""GroupCommitter: callers arriving during a commit share the next one; a failing batch
is bisected so only the culprit sees the error, in a logarithmic number of commits."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from groundcontrol.delivery.batching import GroupCommitter


class Database:
    """A commit that can be held open, so callers pile up behind it."""

    def __init__(self) -> None:
        self.commits: list[list[str]] = []
        self.attempts = 0
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()

    def hold(self) -> None:
        self.gate.clear()
        self.entered.clear()

    async def commit(self, items: Sequence[str]) -> list[str]:
        self.entered.set()
        await self.gate.wait()
        self.attempts += 1
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


@pytest.mark.parametrize("bad_at", [[0], [31], [63], [5, 40], [0, 1, 2, 3]])
async def test_bad_callers_cost_logarithmic_commits_not_one_per_caller(bad_at: list[int]) -> None:
    db = Database()
    committer = GroupCommitter(db.commit)
    db.hold()
    first = asyncio.create_task(committer.submit(["first"]))
    await db.entered.wait()
    names = ["bad" if i in bad_at else f"ok{i}" for i in range(64)]
    callers = [asyncio.create_task(committer.submit([name])) for name in names]
    await _queued()
    db.gate.set()
    await first
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    for name, outcome in zip(names, outcomes, strict=True):
        assert isinstance(outcome, ValueError) if name == "bad" else outcome == [name.upper()]
    # The batch of 64, then per bad caller at most two commits per halving (log2 64 = 6);
    # committing caller by caller took 65.
    assert db.attempts - 1 <= 1 + 2 * 6 * len(bad_at)
    committed = [item for commit in db.commits[1:] for item in commit]
    assert sorted(committed) == sorted(n for n in names if n != "bad")
    await committer.stop()


async def test_with_isolate_a_failed_batch_is_retried_once_with_each_caller_alone() -> None:
    db = Database()
    isolated: list[list[list[str]]] = []

    async def isolate(groups: Sequence[Sequence[str]]) -> list[list[str] | Exception]:
        isolated.append([list(g) for g in groups])
        return [ValueError("bad") if "bad" in g else [x.upper() for x in g] for g in groups]

    committer = GroupCommitter(db.commit, isolate=isolate)
    db.hold()
    first = asyncio.create_task(committer.submit(["a"]))
    await db.entered.wait()
    names = ["bad" if i % 3 == 0 else f"ok{i}" for i in range(30)]
    callers = [asyncio.create_task(committer.submit([name])) for name in names]
    await _queued()
    db.gate.set()
    await first
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    for name, outcome in zip(names, outcomes, strict=True):
        assert isinstance(outcome, ValueError) if name == "bad" else outcome == [name.upper()]
    assert db.attempts == 2  # "a", then the batch of 30 that failed
    assert isolated == [[[name] for name in names]]
    await committer.stop()


async def test_after_a_failed_batch_the_next_ones_go_straight_to_isolation() -> None:
    db = Database()
    isolated: list[list[list[str]]] = []

    async def isolate(groups: Sequence[Sequence[str]]) -> list[list[str] | Exception]:
        isolated.append([list(g) for g in groups])
        await db.gate.wait()
        return [ValueError("bad") if "bad" in g else [x.upper() for x in g] for g in groups]

    committer = GroupCommitter(db.commit, isolate=isolate)
    db.hold()
    first = asyncio.create_task(committer.submit(["a"]))
    await db.entered.wait()
    batch = [asyncio.create_task(committer.submit([x])) for x in ("b", "bad")]
    await _queued()
    db.gate.set()
    await asyncio.gather(first, *batch, return_exceptions=True)
    db.hold()
    held = asyncio.create_task(committer.submit(["c"]))
    await db.entered.wait()
    later = [asyncio.create_task(committer.submit([x])) for x in ("d", "e")]
    await _queued()
    db.gate.set()
    assert [await held, *[await t for t in later]] == [["C"], ["D"], ["E"]]
    assert db.attempts == 3  # "a", the failed ["b", "bad"], "c" alone; not ["d", "e"]
    assert isolated == [[["b"], ["bad"]], [["d"], ["e"]]]
    await committer.stop()


async def test_when_the_isolated_retry_itself_fails_every_caller_gets_the_error() -> None:
    db = Database()

    async def isolate(groups: Sequence[Sequence[str]]) -> list[list[str] | Exception]:
        raise ConnectionError("store down")

    committer = GroupCommitter(db.commit, isolate=isolate)
    db.hold()
    first = asyncio.create_task(committer.submit(["a"]))
    await db.entered.wait()
    callers = [asyncio.create_task(committer.submit([x])) for x in ("b", "bad")]
    await _queued()
    db.gate.set()
    await first
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
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
