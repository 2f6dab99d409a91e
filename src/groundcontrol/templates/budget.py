"""A render's CPU budget, enforced inside the sandbox.

Template code can only run long by looping (`for`, which the sandbox counts through
`counted`) or by calling (macros, methods, recursion: the sandbox's call hook ticks).
So every render gets a number of steps and a deadline; each step checks both, and a
render over either stops with `BudgetExceeded`, which the renderer reports like any
other broken template (file and line). Steps make the limit the same on a fast and a
slow machine; the deadline also catches a few heavy built-in operations between steps.
The deadline is in the rendering thread's own CPU time, not the wall clock's: on a
busy machine (other processes, the writer thread holding the GIL) a plain template
waits longer without working longer, and must not fail as a bomb for it. Nor does the
garbage collector's time count: a full collection runs in whichever thread allocated
past its threshold, and in a process holding a million objects it takes most of a
second of that thread's CPU (measured: 0.7 s), which would fail a plain first render
(compiling its templates allocates) as a bomb and dead-letter its message.

Why not a process per render: a thread cannot be killed, but a render that checks its
own budget at every step ends itself, on the same loader (with the studio's drafts and
store-held overrides) and without pickling every context across a process boundary.
The renderer runs it on a worker thread so the event loop keeps answering meanwhile.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class _CollectorTime(threading.local):
    """CPU seconds this thread has spent in the garbage collector."""

    spent: float = 0.0
    started: float = 0.0


_collector = _CollectorTime()


def _count_collections(phase: str, info: dict[str, int]) -> None:
    # The collector calls this in the thread it runs in, before and after each pass.
    if phase == "start":
        _collector.started = time.thread_time()
    else:
        _collector.spent += time.thread_time() - _collector.started


gc.callbacks.append(_count_collections)


def working_seconds() -> float:
    """This thread's CPU seconds, less those the garbage collector took."""
    return time.thread_time() - _collector.spent


class BudgetExceeded(RuntimeError):
    """A render used more steps or time than a message template may."""


@dataclass
class RenderBudget:
    """Steps left and the deadline (this thread's working CPU seconds) of one render."""

    max_steps: int
    seconds: float
    steps: int = 0
    deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.deadline = working_seconds() + self.seconds

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise BudgetExceeded(
                f"the template ran more than {self.max_steps} loop steps and calls"
            )
        if working_seconds() > self.deadline:
            raise BudgetExceeded(f"the template took more than {self.seconds:g} s of CPU to render")


_current: ContextVar[RenderBudget | None] = ContextVar("render_budget", default=None)


@contextmanager
def budget(max_steps: int, seconds: float) -> Iterator[RenderBudget]:
    """Run the block's renders (in this thread or task) under one budget. Inside a
    block that already has one, renders share it: a studio request that renders a
    draft for every sample gets one budget, not one per sample."""
    running = _current.get()
    if running is not None:
        yield running
        return
    current = RenderBudget(max_steps, seconds)
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)


def tick() -> None:
    """One step of the current render (no budget outside a render: `check` compiles)."""
    current = _current.get()
    if current is not None:
        current.tick()


def counted(iterable: Iterable[T]) -> Iterator[T]:
    """The items of a template `for` loop, one step each."""
    for item in iterable:
        tick()
        yield item
