"""Row helpers the SQL engines share: customers and stored events.

What an event does is decided in `planning.events`; `batch_recording` writes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from groundcontrol.domain import Customer
from groundcontrol.planning.rows import StoredEvent
from groundcontrol.store.sql.dialect import Dialect
from groundcontrol.store.sql.rows import customer_values, to_customer
from groundcontrol.store.sql.schema import customers, events

STORED_EVENT_COLUMNS = (events.c.body_hash, events.c.outcome, events.c.notification_ids)


def stored_event(row: Row[*tuple[Any, ...]]) -> StoredEvent:
    """A row selected with STORED_EVENT_COLUMNS."""
    return StoredEvent(row.body_hash, row.outcome, tuple(row.notification_ids or ()))


async def load_customer(conn: AsyncConnection, customer_id: str) -> Customer | None:
    row = (
        (await conn.execute(select(customers).where(customers.c.id == customer_id)))
        .mappings()
        .first()
    )
    return to_customer(row) if row else None


async def upsert_customer(
    conn: AsyncConnection, dialect: Dialect, customer: Customer, now: datetime
) -> None:
    values = customer_values(customer)
    statement = dialect.insert(customers).values(**values, created_at=now, updated_at=now)
    changes = {k: v for k, v in values.items() if k != "id"} | {"updated_at": now}
    await conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=changes))
