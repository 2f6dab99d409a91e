"""Prometheus metrics, on a registry of the app's own (never the process-global one).

Callers use the small method surface below; `/metrics` refreshes the state gauge
from the store and renders the text exposition.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from groundcontrol.domain import NotificationState

_PREFIX = "groundcontrol_"
_DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_INGEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0
# Dark stretches run from minutes (a prompt reply) to days (a promise of 72h and more).
_DARK_BUCKETS = (
    _MINUTE, 5 * _MINUTE, 15 * _MINUTE, _HOUR, 4 * _HOUR, 12 * _HOUR,
    _DAY, 2 * _DAY, 3 * _DAY, 5 * _DAY, 7 * _DAY, 14 * _DAY, 30 * _DAY,
)  # fmt: skip


class Metrics:
    """Every metric Ground Control exports, registered on one `CollectorRegistry`."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._received = Counter(
            _PREFIX + "events_received",
            "Events accepted, by source and outcome",
            ("source", "outcome"),
            registry=r,
        )
        self._rejected = Counter(
            _PREFIX + "events_rejected", "Events refused, by reason", ("reason",), registry=r
        )
        self._sent = Counter(
            _PREFIX + "notifications_sent",
            "Notifications a provider accepted",
            ("channel",),
            registry=r,
        )
        self._failures = Counter(
            _PREFIX + "notification_failures",
            "Failed attempts, by channel and kind",
            ("channel", "kind"),
            registry=r,
        )
        self._delivery = Histogram(
            _PREFIX + "delivery_seconds",
            "Time of one provider call",
            ("channel",),
            buckets=_DELIVERY_BUCKETS,
            registry=r,
        )
        self._claimed = Counter(
            _PREFIX + "dispatch_claimed", "Notifications claimed for sending", registry=r
        )
        self._unreachable = Counter(
            _PREFIX + "unreachable",
            "Customers left unreached: no usable channel, or none left to fall back to",
            registry=r,
        )
        self._without_rule = Counter(
            _PREFIX + "events_without_rule",
            "Events whose status has no journey rule: recorded, nothing sent",
            ("source", "status"),
            registry=r,
        )
        self._states = Gauge(
            _PREFIX + "notifications_state", "Notifications in each state", ("state",), registry=r
        )
        self._open_cases = Gauge(
            _PREFIX + "open_cases", "Open cases (the golden thread)", registry=r
        )
        self._breached_cases = Gauge(
            _PREFIX + "breached_cases",
            "Open cases dark for as long as their promise or longer",
            registry=r,
        )
        self._breaches = Counter(
            _PREFIX + "promise_breaches",
            "Promises broken and recorded (once per dark stretch), by case status",
            ("status",),
            registry=r,
        )
        self._dark_gap = Histogram(
            _PREFIX + "dark_gap_seconds",
            "Dark stretches a contact ended: how long the customer heard nothing",
            buckets=_DARK_BUCKETS,
            registry=r,
        )
        self._ingest = Histogram(
            _PREFIX + "ingest_seconds",
            "Time to validate and commit one ingest request",
            buckets=_INGEST_BUCKETS,
            registry=r,
        )
        self._subscriptions = _SubscriptionMetrics(r)

    def event_received(self, source: str, outcome: str) -> None:
        self._received.labels(source=source, outcome=outcome).inc()

    def event_without_rule(self, source: str, status: str) -> None:
        self._without_rule.labels(source, status).inc()

    def event_rejected(self, reason: str) -> None:
        self._rejected.labels(reason=reason).inc()

    def ingest_time(self, seconds: float) -> None:
        self._ingest.observe(seconds)

    def notification_sent(self, channel: str, seconds: float) -> None:
        """A provider accepted a message after a call of `seconds`."""
        self._sent.labels(channel=channel).inc()
        self._delivery.labels(channel=channel).observe(seconds)

    def notification_failed(self, channel: str, kind: str, seconds: float | None = None) -> None:
        """An attempt failed; `kind` is transient or permanent."""
        self._failures.labels(channel=channel, kind=kind).inc()
        if seconds is not None:
            self._delivery.labels(channel=channel).observe(seconds)

    def claimed(self, count: int) -> None:
        self._claimed.inc(count)

    def unreachable(self) -> None:
        self._unreachable.inc()

    def set_states(self, counts: Mapping[str, int]) -> None:
        """Set the state gauge from `Store.state_counts()`; absent states are 0."""
        for state in NotificationState:
            self._states.labels(state=state.value).set(counts.get(state.value, 0))

    def set_cases(self, open_cases: int, breached: int) -> None:
        """Set the golden-thread gauges from `Store.thread_counts()`."""
        self._open_cases.set(open_cases)
        self._breached_cases.set(breached)

    def promise_breached(self, status: str) -> None:
        self._breaches.labels(status=status).inc()

    def dark_stretch_ended(self, seconds: float) -> None:
        self._dark_gap.observe(seconds)

    def subscription_consumed(self, name: str, count: int) -> None:
        """`count` messages were acknowledged (recorded, duplicate or dead-lettered)."""
        self._subscriptions.consumed.labels(subscription=name).inc(count)

    def subscription_duplicate(self, name: str) -> None:
        self._subscriptions.duplicates.labels(subscription=name).inc()

    def subscription_dead_lettered(self, name: str, reason: str) -> None:
        self._subscriptions.dead_lettered.labels(subscription=name, reason=reason).inc()

    def subscription_lag(self, name: str, lag: int) -> None:
        self._subscriptions.lag.labels(subscription=name).set(lag)

    def subscription_connected(self, name: str, connected: bool) -> None:
        self._subscriptions.connected.labels(subscription=name).set(1 if connected else 0)

    def exposition(self) -> bytes:
        """The Prometheus text format of everything registered."""
        return bytes(generate_latest(self.registry))


class _SubscriptionMetrics:
    """Per `[[subscriptions]]` name: messages taken from the broker and what became of them."""

    def __init__(self, r: CollectorRegistry) -> None:
        label = ("subscription",)
        self.consumed = Counter(
            _PREFIX + "subscription_consumed",
            "Broker messages processed and acknowledged",
            label,
            registry=r,
        )
        self.duplicates = Counter(
            _PREFIX + "subscription_duplicates",
            "Broker messages whose event was already recorded (redeliveries, republishes)",
            label,
            registry=r,
        )
        self.dead_lettered = Counter(
            _PREFIX + "subscription_dead_lettered",
            "Broker messages sent to the dead letter with a problem, by reason",
            (*label, "reason"),
            registry=r,
        )
        self.lag = Gauge(
            _PREFIX + "subscription_lag",
            "Messages waiting for this consumer, where the broker tells it",
            label,
            registry=r,
        )
        self.connected = Gauge(
            _PREFIX + "subscription_connected",
            "1 while the subscription is connected and consuming",
            label,
            registry=r,
        )
