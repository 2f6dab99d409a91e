"""Apprise sending `count` notifications to one json:// URL, as a user would.

`python -m bench.apprise_load URL COUNT sequential|async [--concurrency N]` prints the
wall time in seconds. Each body carries a case id so the sink can time arrivals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import apprise


def sequential(url: str, count: int) -> None:
    notifier = apprise.Apprise()
    notifier.add(url)
    for i in range(count):
        notifier.notify(body=f"update for bench-{i}", title="case update")


async def concurrent(url: str, count: int, concurrency: int) -> None:
    notifier = apprise.Apprise()
    notifier.add(url)
    slots = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with slots:
            await notifier.async_notify(body=f"update for bench-{i}", title="case update")

    await asyncio.gather(*(one(i) for i in range(count)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("count", type=int)
    parser.add_argument("mode", choices=["sequential", "async"])
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    started = time.perf_counter()
    if args.mode == "sequential":
        sequential(args.url, args.count)
    else:
        asyncio.run(concurrent(args.url, args.count, args.concurrency))
    print(json.dumps({"seconds": time.perf_counter() - started}))
