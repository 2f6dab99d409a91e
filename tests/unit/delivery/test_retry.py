from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groundcontrol.delivery.retry import RetryPolicy
from groundcontrol.settings import DeliverySettings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(initial=timedelta(seconds=30), maximum=timedelta(hours=1), max_attempts=8)


def test_from_settings_reads_the_delivery_section() -> None:
    delivery = DeliverySettings(backoff_initial="10s", backoff_max="5m", max_attempts=4)
    policy = RetryPolicy.from_settings(delivery)
    assert policy == RetryPolicy(
        initial=timedelta(seconds=10), maximum=timedelta(minutes=5), max_attempts=4
    )


def test_defaults_match_the_documented_config() -> None:
    assert RetryPolicy.from_settings(DeliverySettings()) == POLICY


@pytest.mark.parametrize(
    ("attempt", "cap"),
    [
        (1, timedelta(seconds=30)),
        (2, timedelta(seconds=60)),
        (3, timedelta(seconds=120)),
        (7, timedelta(seconds=1920)),
        (8, timedelta(hours=1)),
        (1000, timedelta(hours=1)),
    ],
)
def test_cap_doubles_from_initial_up_to_maximum(attempt: int, cap: timedelta) -> None:
    assert POLICY.cap(attempt) == cap


def test_full_draw_waits_the_whole_cap() -> None:
    assert POLICY.next_attempt(3, NOW, rand=lambda: 1.0) == NOW + timedelta(seconds=120)


def test_zero_draw_waits_the_floor_not_zero() -> None:
    assert POLICY.next_attempt(1, NOW, rand=lambda: 0.0) == NOW + timedelta(seconds=1)


def test_jitter_scales_the_cap() -> None:
    assert POLICY.next_attempt(2, NOW, rand=lambda: 0.25) == NOW + timedelta(seconds=15)


def test_attempts_exhausted_at_max_attempts() -> None:
    assert POLICY.next_attempt(7, NOW, rand=lambda: 0.5) is not None
    assert POLICY.next_attempt(8, NOW, rand=lambda: 0.5) is None
    assert POLICY.next_attempt(9, NOW, rand=lambda: 0.5) is None


def test_a_single_attempt_budget_never_retries() -> None:
    once = RetryPolicy(timedelta(seconds=1), timedelta(seconds=1), max_attempts=1)
    assert once.next_attempt(1, NOW) is None


def test_retry_after_is_a_lower_bound() -> None:
    later = POLICY.next_attempt(1, NOW, retry_after=timedelta(minutes=5), rand=lambda: 1.0)
    assert later == NOW + timedelta(minutes=5)


def test_retry_after_shorter_than_the_draw_does_not_shorten_it() -> None:
    later = POLICY.next_attempt(3, NOW, retry_after=timedelta(seconds=2), rand=lambda: 1.0)
    assert later == NOW + timedelta(seconds=120)


def test_retry_after_above_maximum_is_honoured() -> None:
    later = POLICY.next_attempt(1, NOW, retry_after=timedelta(hours=2), rand=lambda: 0.0)
    assert later == NOW + timedelta(hours=2)


def test_retry_after_is_capped_by_the_ceiling() -> None:
    later = POLICY.next_attempt(1, NOW, retry_after=timedelta(days=365), rand=lambda: 0.0)
    assert later == NOW + timedelta(hours=24)


def test_retry_after_does_not_revive_an_exhausted_message() -> None:
    assert POLICY.next_attempt(8, NOW, retry_after=timedelta(seconds=1)) is None


def test_default_rand_stays_in_bounds() -> None:
    later = POLICY.next_attempt(4, NOW)
    assert later is not None
    assert NOW + timedelta(seconds=1) <= later <= NOW + timedelta(seconds=240)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_rand_out_of_range_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="rand"):
        POLICY.next_attempt(1, NOW, rand=lambda: bad)


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempt_counts_from_one(attempt: int) -> None:
    with pytest.raises(ValueError, match="counts from 1"):
        POLICY.next_attempt(attempt, NOW)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial": timedelta(0)}, "initial"),
        ({"maximum": timedelta(seconds=10)}, "maximum"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"floor": timedelta(hours=2)}, "floor"),
        ({"floor": timedelta(seconds=-1)}, "floor"),
        ({"retry_after_ceiling": timedelta(minutes=-1)}, "ceiling"),
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "initial": timedelta(seconds=30),
        "maximum": timedelta(hours=1),
        "max_attempts": 3,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**values)  # type: ignore[arg-type]


policies = st.builds(
    lambda initial, factor, attempts: RetryPolicy(
        initial=timedelta(seconds=initial),
        maximum=timedelta(seconds=initial * factor),
        max_attempts=attempts,
    ),
    initial=st.integers(min_value=1, max_value=3600),
    factor=st.integers(min_value=1, max_value=1000),
    attempts=st.integers(min_value=1, max_value=50),
)
attempts = st.integers(min_value=1, max_value=200)
draws = st.floats(min_value=0.0, max_value=1.0)
retry_afters = st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))


@given(policies, attempts, draws, retry_afters)
def test_delay_stays_within_floor_cap_and_ceiling(
    policy: RetryPolicy, attempt: int, rand: float, retry_after: timedelta | None
) -> None:
    delay = policy.delay(attempt, retry_after=retry_after, rand=lambda: rand)
    assert delay >= policy.floor
    assert delay <= max(policy.cap(attempt), policy.floor, policy.retry_after_ceiling)
    if retry_after is None:
        assert delay <= max(policy.cap(attempt), policy.floor)
    else:
        assert delay >= min(retry_after, policy.retry_after_ceiling)


@given(policies, attempts)
def test_cap_grows_monotonically_and_never_passes_maximum(
    policy: RetryPolicy, attempt: int
) -> None:
    assert policy.initial <= policy.cap(attempt) <= policy.cap(attempt + 1) <= policy.maximum


@given(policies, attempts, draws, draws)
def test_a_larger_draw_never_waits_less(
    policy: RetryPolicy, attempt: int, low: float, high: float
) -> None:
    low, high = sorted((low, high))
    assert policy.delay(attempt, rand=lambda: low) <= policy.delay(attempt, rand=lambda: high)


@given(policies, attempts)
def test_next_attempt_is_none_exactly_when_exhausted(policy: RetryPolicy, attempt: int) -> None:
    result = policy.next_attempt(attempt, NOW, rand=lambda: 0.5)
    assert (result is None) == (attempt >= policy.max_attempts)
    if result is not None:
        assert result > NOW
