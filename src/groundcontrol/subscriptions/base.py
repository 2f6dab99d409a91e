"""What every broker adapter is: a `Transport` hands over batches of `Message`s,
acknowledges them once their events are committed, and dead-letters the ones that
cannot be processed. The runner does the rest, the same for every broker.

A new broker (Kafka, say) is one module implementing `Transport`, its settings model
in `config.py` and a line in `transports.py`: the runner, the decoding and the
supervisor stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from groundcontrol.errors import GroundControlError

# How long one `fetch` waits for a first message: the bound on how late a stop is seen.
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Message:
    """One broker message, as the runner sees it.

    `attributes` are the CloudEvents binary-mode attributes with the transport's
    prefix removed (`{"specversion": "1.0", "id": ...}`), empty when there are none.
    `handle` is the adapter's own (delivery tag, stream entry id, NATS message), used
    only by the adapter that made it."""

    body: bytes
    content_type: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)
    handle: Any = None


class BrokerError(GroundControlError):
    """The broker could not be reached or dropped the connection."""


class MissingExtra(GroundControlError):
    """A subscription's broker client is not installed."""

    def __init__(self, extra: str, package: str) -> None:
        super().__init__(
            f"subscriptions on {extra} need the {package} client: "
            f"pip install 'groundcontrol[{extra}]'"
        )


class Transport(Protocol):
    """One subscription's connection to its broker. `connect` (again after a failure)
    declares what is missing; every other call may raise `BrokerError`."""

    async def connect(self) -> None: ...

    async def fetch(self, limit: int) -> Sequence[Message]:
        """Up to `limit` messages; waits at most POLL_SECONDS for the first one."""
        ...

    async def ack(self, messages: Sequence[Message]) -> None:
        """Acknowledge: the broker will not deliver these again."""
        ...

    async def release(self, messages: Sequence[Message]) -> None:
        """Give back, unacknowledged, messages whose events could not be committed (the
        store is down): the broker delivers them again at once, not after its own
        redelivery timeout."""
        ...

    async def dead_letter(self, message: Message, problem: Mapping[str, Any]) -> None:
        """Publish the original body with the problem to the dead letter, confirmed by
        the broker, without acknowledging the original (the runner does that)."""
        ...

    async def lag(self) -> int | None:
        """Messages waiting for this consumer, if the broker tells it."""
        ...

    async def close(self) -> None:
        """Disconnect; what was fetched and not acknowledged is delivered again."""
        ...
