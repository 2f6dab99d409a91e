"""The event history, read back as the bodies that were posted (for `export-events`).

A recorded event keeps its public body (no customer); the customer comes from the
customers table as it is now, inline, so the exported file replays on its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from groundcontrol.domain import as_utc
from groundcontrol.store.sql.rows import to_customer
from groundcontrol.store.sql.schema import cases, customers, events

_CUSTOMER_FIELDS = ("name", "email", "phone", "chat_webhook", "locale", "timezone")


async def event_history(
    engine: AsyncEngine, since: datetime, source: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Events received since `since` (of one source, if given), oldest first."""
    query = (
        select(events.c.source, events.c.payload, events.c.occurred_at, customers)
        .join(cases, cases.c.id == events.c.case_id)
        .join(customers, customers.c.id == cases.c.customer_id)
        .where(events.c.received_at >= since)
        .order_by(events.c.occurred_at, events.c.pk)
    )
    if source is not None:
        query = query.where(events.c.source == source)
    async with engine.connect() as conn:
        result = await conn.stream(query)
        async for row in result.mappings():
            yield _body(row)


def _body(row: Any) -> dict[str, Any]:
    payload = dict(row["payload"])
    customer = to_customer(row)
    inline: dict[str, Any] = {"id": customer.id}
    inline |= {
        name: getattr(customer, name) for name in _CUSTOMER_FIELDS if getattr(customer, name)
    }
    inline["channels"] = list(customer.channels)
    body: dict[str, Any] = {
        "source": row["source"],
        "id": payload["id"],
        "case_id": payload["case_id"],
        "status": payload["status"],
        "occurred_at": as_utc(row["occurred_at"]).isoformat().replace("+00:00", "Z"),
        "customer": inline,
        "data": payload.get("data") or {},
    }
    for optional in ("priority", "sequence"):
        if payload.get(optional) is not None:
            body[optional] = payload[optional]
    return body
