"""The transport for a subscription, by its URL scheme. Each adapter module imports its
broker client, so only the clients actually configured need to be installed."""

from __future__ import annotations

from groundcontrol.settings.subscriptions import (
    AmqpSubscription,
    NatsSubscription,
    SubscriptionSettings,
)
from groundcontrol.subscriptions.base import Transport


def transport_for(settings: SubscriptionSettings) -> Transport:
    """Raises MissingExtra, naming the extra to install, if the client is absent."""
    if isinstance(settings, AmqpSubscription):
        from groundcontrol.subscriptions.amqp import AmqpTransport

        return AmqpTransport(settings)
    if isinstance(settings, NatsSubscription):
        from groundcontrol.subscriptions.jetstream import JetStreamTransport

        return JetStreamTransport(settings)
    from groundcontrol.subscriptions.redis_streams import RedisStreamTransport

    return RedisStreamTransport(settings)
