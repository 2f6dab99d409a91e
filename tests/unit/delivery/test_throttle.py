from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groundcontrol.delivery.throttle import ChannelGuards, OutageGuard, RateLimiter, TokenBucket

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


# --- token bucket ------------------------------------------------------------------


def take_many(bucket: TokenBucket, now: float, count: int) -> tuple[TokenBucket, list[float]]:
    waits = []
    for _ in range(count):
        bucket, wait = bucket.take(now)
        waits.append(wait)
    return bucket, waits


def test_a_fresh_bucket_allows_a_burst_without_waiting() -> None:
    _, waits = take_many(TokenBucket(rate=2, burst=3), now=100.0, count=3)
    assert waits == [0.0, 0.0, 0.0]


def test_past_the_burst_callers_queue_one_interval_apart() -> None:
    _, waits = take_many(TokenBucket(rate=2, burst=3), now=100.0, count=6)
    assert waits == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5]


def test_tokens_refill_at_the_rate() -> None:
    bucket, _ = take_many(TokenBucket(rate=2, burst=3), now=100.0, count=3)
    bucket, wait = bucket.take(100.5)
    assert wait == 0.0
    _, wait = bucket.take(100.5)
    assert wait == pytest.approx(0.5)


def test_refill_stops_at_the_burst() -> None:
    bucket, _ = take_many(TokenBucket(rate=10, burst=2), now=0.0, count=2)
    _, waits = take_many(bucket, now=3600.0, count=3)
    assert waits == [0.0, 0.0, pytest.approx(0.1)]


def test_a_clock_stepping_back_refills_nothing() -> None:
    bucket, _ = TokenBucket(rate=1, burst=1).take(50.0)
    _, wait = bucket.take(40.0)
    assert wait == pytest.approx(1.0)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("nan"), 1), (1, 0)])
def test_invalid_buckets_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match=r"rate|burst"):
        TokenBucket(rate=rate, burst=burst)


@given(
    rate=st.floats(min_value=0.1, max_value=100),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=60),
)
def test_sends_never_exceed_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    bucket, now, send_times = TokenBucket(rate, burst), 0.0, []
    for gap in gaps:
        now += gap
        bucket, wait = bucket.take(now)
        send_times.append(now + wait)
    send_times.sort()
    for i, start in enumerate(send_times):
        for j in range(i, len(send_times)):
            sends = j - i + 1
            assert sends <= burst + (send_times[j] - start) * rate + 1e-6


# --- rate limiter ------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay


async def test_acquire_sleeps_the_computed_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=4, burst=1, monotonic=clock.monotonic, sleep=clock.sleep)
    waited = [await limiter.acquire("sms") for _ in range(3)]
    assert waited == [0.0, 0.25, 0.25]
    assert clock.slept == [0.25, 0.25]
    assert clock.now == pytest.approx(1000.5)


async def test_channels_have_separate_buckets() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, burst=1, monotonic=clock.monotonic, sleep=clock.sleep)
    assert await limiter.acquire("sms") == 0.0
    assert await limiter.acquire("email") == 0.0
    assert await limiter.acquire("sms") == 1.0
    assert clock.slept == [1.0]


def test_reserve_spreads_concurrent_callers() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10, burst=2, monotonic=clock.monotonic, sleep=clock.sleep)
    waits = [limiter.reserve("chat") for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.1, 0.2, 0.3])


# --- outage guard -------------------------------------------------------------------

GUARD = OutageGuard(threshold=3, cool_down=seconds(30), max_cool_down=seconds(100))


def fail(guard: OutageGuard, now: datetime, times: int = 1) -> OutageGuard:
    for _ in range(times):
        guard = guard.record_failure(now)
    return guard


def test_a_closed_guard_allows_sends() -> None:
    assert GUARD.allows(T0)
    assert GUARD.reopen_at is None


def test_failures_below_the_threshold_keep_it_closed() -> None:
    guard = fail(GUARD, T0, times=2)
    assert guard.allows(T0)
    assert guard.failures == 2


def test_the_threshold_opens_it_for_the_cool_down() -> None:
    guard = fail(GUARD, T0, times=3)
    assert not guard.allows(T0)
    assert guard.reopen_at == T0 + seconds(30)
    assert not guard.allows(T0 + seconds(29.999))
    assert guard.allows(T0 + seconds(30))


def test_a_success_resets_the_failure_count() -> None:
    guard = fail(GUARD, T0, times=2).record_success(T0)
    guard = fail(guard, T0, times=2)
    assert guard.allows(T0)


def test_a_failed_probe_reopens_for_twice_as_long() -> None:
    opened = fail(GUARD, T0, times=3)
    probe_time = T0 + seconds(30)
    reopened = opened.record_failure(probe_time)
    assert reopened.reopen_at == probe_time + seconds(60)


def test_the_cool_down_doubles_up_to_the_cap() -> None:
    guard, now, pauses = fail(GUARD, T0, times=3), T0, []
    for _ in range(4):
        assert guard.reopen_at is not None
        pauses.append(guard.reopen_at - now)
        now = guard.reopen_at
        guard = guard.record_failure(now)
    assert pauses == [seconds(30), seconds(60), seconds(100), seconds(100)]


def test_a_success_closes_it_and_resets_the_cool_down() -> None:
    guard = fail(GUARD, T0, times=3)
    guard = guard.record_failure(T0 + seconds(30)).record_success(T0 + seconds(90))
    assert guard == GUARD
    assert fail(guard, T0, times=3).reopen_at == T0 + seconds(30)


def test_a_success_while_open_closes_it() -> None:
    guard = fail(GUARD, T0, times=3).record_success(T0 + seconds(1))
    assert guard.allows(T0 + seconds(1))


def test_late_failures_while_open_do_not_extend_it() -> None:
    guard = fail(GUARD, T0, times=3)
    assert fail(guard, T0 + seconds(10), times=5) == guard


def test_a_huge_number_of_trips_stays_at_the_cap() -> None:
    guard = OutageGuard(threshold=1, cool_down=seconds(1), max_cool_down=seconds(5), trips=10_000)
    assert guard.record_failure(T0).reopen_at == T0 + seconds(5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0},
        {"cool_down": timedelta(0)},
        {"cool_down": seconds(10), "max_cool_down": seconds(5)},
    ],
)
def test_invalid_guards_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"threshold|cool_down"):
        OutageGuard(**kwargs)  # type: ignore[arg-type]


def test_channel_guards_are_independent() -> None:
    guards = ChannelGuards(GUARD)
    for _ in range(3):
        guards.record_failure("sms", T0)
    assert not guards.allows("sms", T0)
    assert guards.reopen_at("sms") == T0 + seconds(30)
    assert guards.allows("email", T0)
    assert guards.reopen_at("email") is None
    guards.record_success("sms", T0 + seconds(1))
    assert guards.allows("sms", T0 + seconds(1))
