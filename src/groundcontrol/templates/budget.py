"""A render's CPU budget, enforced inside the sandbox.

Template code can only run long by looping (`for`, which the sandbox counts through
`counted`) or by calling (macros, methods, recursion: the sandbox's call hook ticks).
So every render gets a number of steps and a deadline; each step checks both, and a
render over either stops with `BudgetExceeded`, which the renderer reports like any
other broken template (file and line). Steps make the limit the same on a fast and a
slow machine; the deadline also catches a few heavy built-in operations between steps.
The deadline is in the rendering thread's own CPU time, not the wall clock's: on a
busy machine (other processes, the writer thread holding the GIL) a plain template
waits longer without working longer, and must not fail as a bomb for it.

Why not a process per render: a thread cannot be killed, but a render that checks its
own budget at every step ends itself, on the same loader (with the studio's drafts and
store-held overrides) and without pickling every context across a process boundary.
The renderer runs it on a worker thread so the event loop keeps answering meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class BudgetExceeded(RuntimeError):
    """A render used more steps or time than a message template may."""


@dataclass
class RenderBudget:
    """Steps left and the deadline (this thread's CPU seconds) of one render."""

    max_steps: int
    seconds: float
    steps: int = 0
    deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.deadline = time.thread_time() + self.seconds

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise BudgetExceeded(
                f"the template ran more than {self.max_steps} loop steps and calls"
            )
        if time.thread_time() > self.deadline:
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
