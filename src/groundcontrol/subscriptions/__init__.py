"""Events from a broker, not only webhooks: `[[subscriptions]]` in the config.

`config` (the settings models), `base` (the transport protocol every broker adapter
implements), `bodies` (a message's body as an event, by the webhook's rules),
`runner` (one batch: commit, dead-letter, acknowledge), `supervisor` (the loops,
with reconnect and backoff), and one module per broker: `amqp`, `jetstream`,
`redis_streams`.
"""
