"""Redis Streams through a consumer group (`redis` asyncio client).

Each entry carries the body in its field `data`. Entries this consumer was given and
never acknowledged (a crash) are read again first at connect; entries another
consumer left pending longer than `claim_idle` are claimed (XAUTOCLAIM). Dead letters
are entries of `<stream>.dead` with the original fields plus `problem`.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from groundcontrol.settings.subscriptions import RedisSubscription
from groundcontrol.subscriptions.base import POLL_SECONDS, BrokerError, Message, MissingExtra

try:
    from redis import asyncio as redis
    from redis.exceptions import RedisError, ResponseError
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingExtra("redis", "redis") from exc

Entry = tuple[bytes, Mapping[bytes, bytes]]


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except RedisError as exc:
        raise BrokerError(f"redis: {exc}") from exc


class RedisStreamTransport:
    def __init__(self, settings: RedisSubscription) -> None:
        self.settings = settings
        self.consumer = settings.consumer or socket.gethostname()
        self.dead_stream = settings.dead_letter_stream()
        self._client: redis.Redis | None = None
        self._own_pending = True
        self._claimed_at = 0.0

    async def connect(self) -> None:
        self._client = redis.Redis.from_url(
            self.settings.url.get_secret_value(),
            socket_connect_timeout=5,
            socket_timeout=POLL_SECONDS + 10,  # above XREADGROUP's BLOCK
        )
        async with _translated():
            await self._create_group()
        self._own_pending = True  # a crash may have left entries given to us unacknowledged

    async def _create_group(self) -> None:
        try:
            # From the stream's start ("0"): entries added before the group existed count.
            await self._redis.xgroup_create(
                self.settings.stream, self.settings.group, id="0", mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    @property
    def _redis(self) -> redis.Redis:
        if self._client is None:
            raise BrokerError("redis: not connected")
        return self._client

    async def fetch(self, limit: int) -> Sequence[Message]:
        async with _translated():
            if self._own_pending:
                entries = await self._read("0", limit)
                self._own_pending = bool(entries)
                if entries:
                    return entries
            claimed = await self._claim(limit)
            return claimed or await self._read(">", limit, block=int(POLL_SECONDS * 1000))

    async def _read(self, after: str, limit: int, block: int | None = None) -> list[Message]:
        answer: Any = await self._redis.xreadgroup(
            self.settings.group,
            self.consumer,
            {self.settings.stream: after},
            count=limit,
            block=block,
        )
        return [_message(entry) for _, entries in answer or [] for entry in entries]

    async def _claim(self, limit: int) -> list[Message]:
        idle = self.settings.duration("claim_idle").total_seconds()
        if time.monotonic() - self._claimed_at < idle / 2:
            return []
        self._claimed_at = time.monotonic()
        answer: Any = await self._redis.xautoclaim(
            self.settings.stream,
            self.settings.group,
            self.consumer,
            min_idle_time=int(idle * 1000),
            count=limit,
        )
        return [_message(entry) for entry in answer[1]]

    async def ack(self, messages: Sequence[Message]) -> None:
        async with _translated():
            await self._redis.xack(
                self.settings.stream, self.settings.group, *(m.handle for m in messages)
            )

    async def release(self, messages: Sequence[Message]) -> None:
        # Nothing to tell Redis: the entries stay pending for this consumer, and the
        # next fetch (or connect) reads its own pending entries before new ones.
        self._own_pending = True

    async def dead_letter(self, message: Message, problem: Mapping[str, Any]) -> None:
        fields: dict[Any, Any] = {
            b"data": message.body,
            b"problem": json.dumps(problem),
            b"stream": self.settings.stream,
            b"entry": message.handle,
        }
        async with _translated():
            await self._redis.xadd(self.dead_stream, fields)

    async def lag(self) -> int | None:
        async with _translated():
            groups = await self._redis.xinfo_groups(self.settings.stream)
        for group in groups:
            if _text(group.get("name")) == self.settings.group:
                lag = group.get("lag")  # Redis 7+; None when Redis cannot tell
                return int(lag) if lag is not None else None
        return None

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _message(entry: Entry) -> Message:
    entry_id, fields = entry
    # An entry deleted while pending comes back without fields: an empty body.
    return Message(body=(fields or {}).get(b"data", b""), handle=entry_id)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
