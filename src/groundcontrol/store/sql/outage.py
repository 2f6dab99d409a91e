"""The database not answering, as the domain's `StoreUnavailable`.

A connection refused or dropped (PostgreSQL restarting), a disk that is full or a
database that is locked (SQLite): nothing was stored, and the same request can
succeed in a moment. The API answers 503 with Retry-After for it instead of a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from groundcontrol.errors import StoreUnavailable


@asynccontextmanager
async def unavailable_as_domain() -> AsyncIterator[None]:
    """Re-raise connection-level database errors in the block as StoreUnavailable."""
    try:
        yield
    except (OperationalError, InterfaceError, OSError, TimeoutError) as exc:
        raise StoreUnavailable(f"the store does not answer: {_reason(exc)}") from exc
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        raise StoreUnavailable(f"the store connection was lost: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return f"{type(original).__name__}: {str(original).splitlines()[0] if str(original) else ''}"
