"""The case page: customers look, instead of calling (DESIGN.md, "The case page").

`case_url` in every message opens `/c/{token}`: the case's history in the customer's
words and language, what happens next, and their preferences (docs/case-page.md)."""

from __future__ import annotations

from datetime import timedelta

from groundcontrol.casepage.limits import WindowLimit
from groundcontrol.casepage.views import LIMITS, PageLimits, routes

__all__ = ["LIMITS", "default_limits", "routes"]

LIMIT_WINDOW = timedelta(minutes=10)


def default_limits() -> PageLimits:
    """60 requests per client address and 30 per link, per 10 minutes: plenty for a
    customer, little for someone guessing links or flooding the timeline with views."""
    return PageLimits(
        per_address=WindowLimit(limit=60, window=LIMIT_WINDOW),
        per_token=WindowLimit(limit=30, window=LIMIT_WINDOW),
    )
