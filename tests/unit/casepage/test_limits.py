"""Fixed-window rate limits with bounded memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from groundcontrol.casepage.limits import WindowLimit

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


def test_a_key_gets_its_limit_per_window() -> None:
    limit = WindowLimit(limit=3, window=WINDOW)
    assert [limit.allow("a", T0) for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b", T0) is True
    assert limit.allow("a", T0 + WINDOW) is True


def test_retry_after_is_the_rest_of_the_window() -> None:
    limit = WindowLimit(limit=1, window=WINDOW)
    assert limit.retry_after(T0 + timedelta(minutes=4)) == 360
    assert limit.retry_after(T0 + WINDOW - timedelta(microseconds=1)) == 1


def test_past_max_keys_new_keys_wait_for_the_next_window() -> None:
    limit = WindowLimit(limit=5, window=WINDOW, max_keys=2)
    assert limit.allow("a", T0) and limit.allow("b", T0)
    assert limit.allow("c", T0) is False
    assert limit.allow("a", T0) is True  # known keys keep their budget
    assert limit.allow("c", T0 + WINDOW) is True
