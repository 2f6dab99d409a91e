"""The chat channel: a signed JSON POST to the customer's webhook URL.

The body is stable; integrators code against it::

    {
      "type": "case.update",          # always this string for now
      "text": "Your address change was received.",   # the rendered chat template
      "case_id": "C-1001",
      "status": "received",
      "customer_id": "cust-42",
      "notification_id": "n-...",
      "test": false                   # true for test sends from the admin UI
    }

It is signed as Standard Webhooks: `webhook-id` is the notification's message key
(the same on every retry, so receivers can de-duplicate), `webhook-timestamp` is
fresh per attempt, and `webhook-signature` is `v1,<base64 HMAC-SHA256>` over
`"<id>.<timestamp>.<body>"` with `channels.chat.signing_secret`.
"""

from __future__ import annotations

from typing import Any

from groundcontrol.channels.base import OutgoingMessage

EVENT_TYPE = "case.update"


def build_payload(message: OutgoingMessage) -> dict[str, Any]:
    """The JSON body posted to the customer's chat webhook (also what the outbox writes)."""
    return {
        "type": EVENT_TYPE,
        "text": message.rendered.text,
        "case_id": message.case_id,
        "status": message.status,
        "customer_id": message.customer.id,
        "notification_id": message.notification_id,
        "test": message.test,
    }
