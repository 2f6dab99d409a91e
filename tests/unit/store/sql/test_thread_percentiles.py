"""Which case a wanted percentile names: the same nearest rank every reader uses, counted
from the oldest dark_since (the darkest case) in the hourly counts."""

from __future__ import annotations

from datetime import UTC, datetime

from groundcontrol.planning.golden_thread import rank
from groundcontrol.store.sql.thread_percentiles import BY_SOURCE, EVERY_CASE, Wanted
from groundcontrol.store.sql.thread_summary import bucket_of


def test_the_darkest_case_is_position_zero_and_the_lightest_the_last() -> None:
    assert Wanted(EVERY_CASE, "", 10, 1.0).position == 0  # max: the oldest dark_since
    assert Wanted(EVERY_CASE, "", 10, 0.0).position == 9


def test_a_position_is_the_nearest_rank_counted_from_the_darkest() -> None:
    for count in (1, 2, 7, 100, 1001):
        for quantile in (0.5, 0.95):
            wanted = Wanted(EVERY_CASE, "", count, quantile)
            assert wanted.position == count - 1 - rank(count, quantile)


def test_cases_without_a_source_are_the_empty_source() -> None:
    [condition] = Wanted(BY_SOURCE, "", 3, 0.95).where()
    assert "IS NULL" in str(condition)
    assert Wanted(EVERY_CASE, "", 3, 0.95).where() == []


def test_an_hour_bucket_starts_on_the_hour() -> None:
    on_the_hour = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert bucket_of(on_the_hour) * 3600 == on_the_hour.timestamp()
    just_before = datetime(2026, 11, 30, 11, 59, 59, 999999, tzinfo=UTC)
    assert bucket_of(just_before) == bucket_of(on_the_hour) - 1
