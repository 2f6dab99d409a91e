"""Who may open a case page: a token that verifies, naming a case that exists and still
belongs to the token's customer, and not more than 30 days after the case closed.

Every refusal is the same `NoSuchPage`, so the 404 a visitor gets says nothing about
which check failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from groundcontrol.domain import CaseState, Customer
from groundcontrol.errors import GroundControlError
from groundcontrol.planning.golden_thread import is_final
from groundcontrol.planning.journeys import Journeys
from groundcontrol.security import CaseTokens, InvalidToken
from groundcontrol.store.contract import Store

LINK_LIFETIME_AFTER_CLOSE = timedelta(days=30)


class NoSuchPage(GroundControlError):
    """There is no case page at this address."""


@dataclass(frozen=True)
class Opened:
    """A case page a token opens: the case and its customer, as the store has them now."""

    token: str
    case: CaseState
    customer: Customer


def closed_at(case: CaseState, journeys: Journeys) -> datetime | None:
    """When the case reached a final status (the golden thread's `final = true`), or None
    while it is open."""
    return case.status_at if is_final(journeys, case.status) else None


def link_alive(closed: datetime | None, now: datetime) -> bool:
    return closed is None or now < closed + LINK_LIFETIME_AFTER_CLOSE


async def open_case(
    token: str, tokens: CaseTokens, store: Store, journeys: Journeys, now: datetime
) -> Opened:
    """The case page `token` opens, or NoSuchPage."""
    try:
        case_id, customer_id = tokens.read(token)
    except InvalidToken:
        raise NoSuchPage() from None
    case = await store.get_case_state(case_id)
    if case is None or case.customer_id != customer_id:
        raise NoSuchPage()
    customer = await store.get_customer(customer_id)
    if customer is None or not link_alive(closed_at(case, journeys), now):
        raise NoSuchPage()
    return Opened(token, case, customer)
