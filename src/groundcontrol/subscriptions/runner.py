"""One batch of messages, from the broker to the store and back: decode, commit
through the same ingest as webhooks, dead-letter what cannot be processed, and only
then acknowledge. A crash anywhere before the acknowledgement means redelivery,
which the store's idempotency turns into duplicates, never second messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from groundcontrol.api.ingest import not_stored, refusal, rejection_reason
from groundcontrol.api.problems import ProblemError
from groundcontrol.domain import Event, IngestResult, IngestStatus
from groundcontrol.errors import StoreUnavailable
from groundcontrol.metrics import Metrics
from groundcontrol.subscriptions.base import Message, Transport
from groundcontrol.subscriptions.bodies import Decoded, decode

# Records events and returns, in order, each one's result once committed or the error
# that kept it out of the store (`Ingestor.ingest_each`).
Ingest = Callable[[Sequence[Event]], Awaitable[list[IngestResult | Exception]]]
# The validation context now (what the running service can deliver), as the webhook's.
Context = Callable[[], dict[str, Any]]


def no_context() -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class BatchRunner:
    """Processes batches for one subscription; the events count as from `source`."""

    name: str
    source: str
    transport: Transport
    ingest: Ingest
    metrics: Metrics
    context: Context = no_context

    async def process(self, messages: Sequence[Message]) -> None:
        decoded, problems = self._decode(messages)
        results = await self.ingest([d.event for d in decoded.values()]) if decoded else []
        _raise_if_unavailable(results)
        for (index, item), result in zip(decoded.items(), results, strict=True):
            if isinstance(result, Exception):
                # The store refused this event alone; the others in the batch are in.
                problems[index] = not_stored(result)
                continue
            refused = refusal(result, item.prefix)
            if refused is not None:
                problems[index] = refused
            else:
                self._count(result)
        for index in sorted(problems):  # in the order they came
            await self.transport.dead_letter(messages[index], self._document(problems[index]))
            self.metrics.subscription_dead_lettered(self.name, rejection_reason(problems[index]))
        await self.transport.ack(messages)
        self.metrics.subscription_consumed(self.name, len(messages))

    def _decode(
        self, messages: Sequence[Message]
    ) -> tuple[dict[int, Decoded], dict[int, ProblemError]]:
        """Each message's event or problem, by its position in the batch."""
        decoded: dict[int, Decoded] = {}
        problems: dict[int, ProblemError] = {}
        context = self.context()
        for index, message in enumerate(messages):
            try:
                decoded[index] = decode(message, self.source, context)
            except ProblemError as exc:
                problems[index] = exc
        return decoded, problems

    def _count(self, result: IngestResult) -> None:
        duplicate = result.status is IngestStatus.DUPLICATE
        if duplicate:
            self.metrics.subscription_duplicate(self.name)
        self.metrics.event_received(self.source, "duplicate" if duplicate else result.outcome)
        if result.outcome == "unreachable" and not duplicate:
            self.metrics.unreachable()

    def _document(self, problem: ProblemError) -> dict[str, Any]:
        # RFC 9457 extension members: where the message came from.
        return problem.document() | {"subscription": self.name, "source": self.source}


def _raise_if_unavailable(results: Sequence[IngestResult | Exception]) -> None:
    # The store is down, not one event bad: nothing is acknowledged and the broker
    # delivers the batch again (what did commit comes back as duplicates).
    for result in results:
        if isinstance(result, StoreUnavailable):
            raise result
