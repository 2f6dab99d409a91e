from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groundcontrol.delivery.frequency import CapDecision, FrequencyCap
from groundcontrol.domain import Priority
from groundcontrol.settings import LimitSettings

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
THREE_AN_HOUR = FrequencyCap(per_hour=3)


def ago(**kwargs: float) -> datetime:
    return NOW - timedelta(**kwargs)


def test_from_settings_reads_the_limits_section() -> None:
    cap = FrequencyCap.from_settings(LimitSettings(per_hour=2, per_day=5))
    assert cap == FrequencyCap(per_hour=2, per_day=5)


def test_no_caps_allow_everything() -> None:
    decision = FrequencyCap().decide([NOW] * 100, NOW, Priority.LOW)
    assert decision == CapDecision(allowed=True, reason="within the frequency cap")


def test_under_the_cap_is_allowed() -> None:
    decision = THREE_AN_HOUR.decide([ago(minutes=10), ago(minutes=5)], NOW, Priority.NORMAL)
    assert decision.allowed
    assert decision.retry_at is None


def test_at_the_cap_is_held_until_the_oldest_ages_out() -> None:
    sent = [ago(minutes=40), ago(minutes=20), ago(minutes=50)]
    decision = THREE_AN_HOUR.decide(sent, NOW, Priority.NORMAL)
    assert decision == CapDecision(
        allowed=False,
        retry_at=NOW + timedelta(minutes=10),
        reason="3 messages in the last hour (cap 3)",
    )


def test_a_message_sent_exactly_one_hour_ago_no_longer_counts() -> None:
    sent = [ago(hours=1), ago(minutes=30), ago(minutes=10)]
    assert THREE_AN_HOUR.decide(sent, NOW, Priority.NORMAL).allowed


def test_a_message_sent_just_under_one_hour_ago_still_counts() -> None:
    sent = [ago(minutes=59, seconds=59), ago(minutes=30), ago(minutes=10)]
    decision = THREE_AN_HOUR.decide(sent, NOW, Priority.NORMAL)
    assert not decision.allowed
    assert decision.retry_at == NOW + timedelta(seconds=1)


def test_retry_at_is_when_the_decision_flips() -> None:
    sent = [ago(minutes=45), ago(minutes=30), ago(minutes=10)]
    held = THREE_AN_HOUR.decide(sent, NOW, Priority.NORMAL)
    assert held.retry_at is not None
    just_before = held.retry_at - timedelta(microseconds=1)
    assert not THREE_AN_HOUR.decide(sent, just_before, Priority.NORMAL).allowed
    assert THREE_AN_HOUR.decide(sent, held.retry_at, Priority.NORMAL).allowed


def test_over_the_cap_waits_for_enough_to_age_out() -> None:
    # Five in the hour (urgent ones went through); three of them must age out.
    sent = [ago(minutes=m) for m in (55, 50, 40, 20, 5)]
    decision = THREE_AN_HOUR.decide(sent, NOW, Priority.NORMAL)
    assert decision.retry_at == NOW + timedelta(minutes=20)
    assert decision.reason == "5 messages in the last hour (cap 3)"


def test_messages_older_than_a_day_are_ignored() -> None:
    cap = FrequencyCap(per_day=1)
    assert cap.decide([ago(hours=24), ago(days=3)], NOW, Priority.LOW).allowed


def test_day_cap_holds_until_the_day_window_frees() -> None:
    cap = FrequencyCap(per_hour=5, per_day=2)
    decision = cap.decide([ago(hours=20), ago(hours=2)], NOW, Priority.NORMAL)
    assert decision == CapDecision(
        allowed=False,
        retry_at=NOW + timedelta(hours=4),
        reason="2 messages in the last 24 hours (cap 2)",
    )


def test_both_caps_breached_waits_for_the_later_and_names_both() -> None:
    cap = FrequencyCap(per_hour=1, per_day=2)
    decision = cap.decide([ago(hours=3), ago(minutes=30)], NOW, Priority.NORMAL)
    assert decision.retry_at == NOW + timedelta(hours=21)
    assert decision.reason == (
        "1 message in the last hour (cap 1); 2 messages in the last 24 hours (cap 2)"
    )


def test_urgent_bypasses_the_cap() -> None:
    decision = THREE_AN_HOUR.decide([NOW] * 10, NOW, Priority.URGENT)
    assert decision == CapDecision(allowed=True, reason="urgent bypasses the frequency cap")


@pytest.mark.parametrize("priority", [Priority.HIGH, Priority.NORMAL, Priority.LOW])
def test_other_priorities_are_capped(priority: Priority) -> None:
    assert not THREE_AN_HOUR.decide([NOW] * 3, NOW, priority).allowed


def test_a_send_stamped_in_the_future_still_counts() -> None:
    # Another instance with a clock slightly ahead recorded it.
    cap = FrequencyCap(per_hour=1)
    decision = cap.decide([NOW + timedelta(seconds=2)], NOW, Priority.NORMAL)
    assert decision.retry_at == NOW + timedelta(hours=1, seconds=2)


def test_unsorted_input_is_fine() -> None:
    sent = [ago(minutes=10), ago(minutes=50), ago(minutes=30)]
    assert THREE_AN_HOUR.decide(sent, NOW, Priority.NORMAL).retry_at == NOW + timedelta(minutes=10)


def test_lookback_covers_the_longest_window() -> None:
    assert FrequencyCap(per_hour=1).lookback == timedelta(hours=1)
    assert FrequencyCap(per_hour=1, per_day=3).lookback == timedelta(days=1)


@pytest.mark.parametrize("kwargs", [{"per_hour": 0}, {"per_day": -1}])
def test_caps_below_one_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FrequencyCap(**kwargs)


caps = st.builds(
    FrequencyCap,
    per_hour=st.none() | st.integers(min_value=1, max_value=5),
    per_day=st.none() | st.integers(min_value=1, max_value=12),
)
histories = st.lists(
    st.integers(min_value=0, max_value=30 * 3600).map(lambda s: NOW - timedelta(seconds=s)),
    max_size=20,
)


@given(caps, histories)
def test_a_held_message_is_allowed_exactly_at_retry_at(
    cap: FrequencyCap, sent: list[datetime]
) -> None:
    decision = cap.decide(sent, NOW, Priority.NORMAL)
    if decision.allowed:
        assert decision.retry_at is None
        return
    assert decision.retry_at is not None
    assert decision.retry_at > NOW
    assert cap.decide(sent, decision.retry_at, Priority.NORMAL).allowed
    almost = decision.retry_at - timedelta(microseconds=1)
    assert not cap.decide(sent, almost, Priority.NORMAL).allowed
