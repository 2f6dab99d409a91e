"""The replay spread over worker processes, shard by shard.

Shards share nothing (see runner.py), and each one's randomness comes from the seed and
its number, so the report is the same with one worker or many; only the wall time
changes. Workers are spawned, not forked: the process may hold threads (the renderer's
worker thread, a database driver's) whose locks a forked child would inherit held and
wait on forever. Each worker imports the package once and builds its own renderer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime

from groundcontrol.domain import Event
from groundcontrol.settings import Settings
from groundcontrol.simulation.runner import (
    Replay,
    Scenario,
    quiet_service_logs,
    replay_shard,
    shards,
    window,
)

Job = tuple[int, list[Event], Scenario, datetime, datetime]


def replay_in_processes(events: Sequence[Event], scenario: Scenario, workers: int) -> Replay:
    start, end = window(events, scenario)
    # Settings loaded from a file are of a class made at load time, which cannot be
    # pickled: workers get the same values on the plain class.
    scenario = replace(scenario, settings=Settings.model_construct(**dict(scenario.settings)))
    jobs = [
        (n, shard, scenario, start, end)
        for n, shard in enumerate(shards(events, scenario.shard_size))
    ]
    result = Replay(start, end)
    context = multiprocessing.get_context("spawn")
    chunk = max(1, len(jobs) // (workers * 4))
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=quiet_service_logs
    ) as pool:
        for part in pool.map(_run_job, jobs, chunksize=chunk):
            result.merge(part)
    return result


def _run_job(job: Job) -> Replay:
    number, events, scenario, start, end = job
    return asyncio.run(replay_shard(number, events, scenario, Replay(start, end)))
