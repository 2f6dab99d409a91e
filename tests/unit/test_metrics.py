"""Metrics live on the app's own registry and render as Prometheus text."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from groundcontrol.metrics import Metrics


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counters_count_by_label() -> None:
    metrics = Metrics()
    metrics.event_received("crm", "planned")
    metrics.event_received("crm", "planned")
    metrics.event_rejected("invalid")
    metrics.notification_failed("sms", "transient")
    metrics.claimed(3)
    metrics.unreachable()
    values = samples(metrics)
    received = (("outcome", "planned"), ("source", "crm"))
    assert values["groundcontrol_events_received_total", received] == 2
    assert values["groundcontrol_events_rejected_total", (("reason", "invalid"),)] == 1
    failures = (("channel", "sms"), ("kind", "transient"))
    assert values["groundcontrol_notification_failures_total", failures] == 1
    assert values["groundcontrol_dispatch_claimed_total", ()] == 3
    assert values["groundcontrol_unreachable_total", ()] == 1


def test_a_send_counts_and_times_the_delivery() -> None:
    metrics = Metrics()
    metrics.notification_sent("email", 0.2)
    metrics.ingest_time(0.003)
    values = samples(metrics)
    assert values["groundcontrol_notifications_sent_total", (("channel", "email"),)] == 1
    assert values["groundcontrol_delivery_seconds_count", (("channel", "email"),)] == 1
    assert values["groundcontrol_delivery_seconds_sum", (("channel", "email"),)] == 0.2
    assert values["groundcontrol_ingest_seconds_count", ()] == 1


def test_the_state_gauge_shows_every_state() -> None:
    metrics = Metrics()
    metrics.set_states({"pending": 4, "dead": 1})
    values = samples(metrics)
    assert values["groundcontrol_notifications_state", (("state", "pending"),)] == 4
    assert values["groundcontrol_notifications_state", (("state", "dead"),)] == 1
    assert values["groundcontrol_notifications_state", (("state", "sent"),)] == 0
    metrics.set_states({})
    assert samples(metrics)["groundcontrol_notifications_state", (("state", "pending"),)] == 0


def test_two_apps_do_not_share_or_touch_the_global_registry() -> None:
    first, second = Metrics(), Metrics()
    first.unreachable()
    assert samples(second)["groundcontrol_unreachable_total", ()] == 0
    assert REGISTRY.get_sample_value("groundcontrol_unreachable_total") is None
