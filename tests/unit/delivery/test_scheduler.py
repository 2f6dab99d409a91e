"""The clock only wakes things up: interval jobs run on the loop and never overlap."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from groundcontrol.delivery.scheduler import Clock


async def test_an_interval_job_wakes_repeatedly() -> None:
    woken = asyncio.Event()
    count = 0

    def wake() -> None:
        nonlocal count
        count += 1
        if count == 3:
            woken.set()

    clock = Clock()
    clock.every(timedelta(milliseconds=20), wake, "wake")
    clock.start()
    try:
        await asyncio.wait_for(woken.wait(), timeout=5)
    finally:
        clock.stop()
    assert count >= 3


async def test_a_slow_coroutine_job_is_not_doubled() -> None:
    running = 0
    overlaps = 0
    finished = asyncio.Event()

    async def slow() -> None:
        nonlocal running, overlaps
        running += 1
        overlaps = max(overlaps, running)
        await asyncio.sleep(0.1)
        running -= 1
        finished.set()

    clock = Clock()
    clock.every(timedelta(milliseconds=10), slow, "slow")
    clock.start()
    try:
        await asyncio.wait_for(finished.wait(), timeout=5)
        await asyncio.sleep(0.15)
    finally:
        clock.stop()
    assert overlaps == 1


def test_stopping_a_clock_that_never_started_is_harmless() -> None:
    Clock().stop()
