"""Public URLs we hand out (in messages, to providers): one place for their paths.

The API serves these paths; the dispatcher and the channels only build links to
them, so both import this module instead of the core reaching into `api/`.
"""

from __future__ import annotations

UNSUBSCRIBE_PATH = "/v1/unsubscribe/{token}"
TWILIO_STATUS_PATH = "/v1/callbacks/twilio/status"
TWILIO_INBOUND_PATH = "/v1/callbacks/twilio/inbound"
CASE_PAGE_PATH = "/c/{token}"


def unsubscribe_url(public_url: str, token: str) -> str:
    """The link put in `List-Unsubscribe` and in templates, under `server.public_url`."""
    return public_url.rstrip("/") + UNSUBSCRIBE_PATH.format(token=token)


def status_callback_url(public_url: str) -> str:
    """The status callback URL to give Twilio with every message."""
    return public_url.rstrip("/") + TWILIO_STATUS_PATH


def case_url(public_url: str, token: str) -> str:
    """The customer's case page (`case_url` in templates), under `server.public_url`."""
    return public_url.rstrip("/") + CASE_PAGE_PATH.format(token=token)
