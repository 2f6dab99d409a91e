from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groundcontrol.delivery.quiet_hours import QuietHours
from groundcontrol.domain import Priority
from groundcontrol.settings import QuietHoursSettings

NIGHT = QuietHours(start=time(21), end=time(8), default_timezone="Europe/Amsterdam")
LUNCH = QuietHours(start=time(12), end=time(13))
AMS = "Europe/Amsterdam"
NYC = "America/New_York"


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- settings -----------------------------------------------------------------


def test_from_settings_parses_clock_times() -> None:
    hours = QuietHours.from_settings(QuietHoursSettings(default_timezone=AMS))
    assert hours == QuietHours(time(21), time(8), default_timezone=AMS, enabled=True)


@pytest.mark.parametrize(
    ("field", "value"), [("start", "25:00"), ("end", "8pm"), ("start", ""), ("end", "08:00+02:00")]
)
def test_from_settings_names_the_bad_key(field: str, value: str) -> None:
    settings = QuietHoursSettings.model_validate({field: value})
    with pytest.raises(ValueError, match=f"quiet_hours.{field}"):
        QuietHours.from_settings(settings)


def test_from_settings_refuses_an_unknown_default_zone() -> None:
    with pytest.raises(ValueError, match=r"quiet_hours\.default_timezone"):
        QuietHours.from_settings(QuietHoursSettings(default_timezone="Mars/Olympus"))


def test_aware_window_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        QuietHours(time(21, tzinfo=UTC), time(8))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        NIGHT.defer_until(datetime(2026, 1, 1, 22), AMS)


# --- window shape ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "inside"),
    [
        (time(20, 59, 59), False),
        (time(21), True),
        (time(23, 59, 59), True),
        (time(0), True),
        (time(7, 59, 59, 999999), True),
        (time(8), False),
        (time(12), False),
    ],
)
def test_window_crossing_midnight(local: time, inside: bool) -> None:
    now = datetime.combine(date(2026, 1, 15), local, tzinfo=UTC)
    deferred = NIGHT.defer_until(now, "UTC")
    assert (deferred is not None) is inside


@pytest.mark.parametrize(
    ("local", "inside"),
    [(time(11, 59), False), (time(12), True), (time(12, 59), True), (time(13), False)],
)
def test_window_within_a_day(local: time, inside: bool) -> None:
    now = datetime.combine(date(2026, 1, 15), local, tzinfo=UTC)
    assert (LUNCH.defer_until(now, None) is not None) is inside


def test_window_of_a_day_in_utc() -> None:
    assert NIGHT.window(date(2026, 1, 14), AMS) == (utc(2026, 1, 14, 20), utc(2026, 1, 15, 7))


def test_start_equal_to_end_means_no_window() -> None:
    none = QuietHours(time(9), time(9))
    assert not none.active
    assert none.defer_until(utc(2026, 1, 1, 9), None) is None


def test_disabled_window_defers_nothing() -> None:
    off = QuietHours(time(21), time(8), enabled=False)
    assert off.defer_until(utc(2026, 1, 1, 23), None) is None
    assert not off.applies_to(Priority.LOW)


@pytest.mark.parametrize("priority", [Priority.LOW, Priority.NORMAL, Priority.HIGH])
def test_non_urgent_priorities_wait(priority: Priority) -> None:
    assert NIGHT.applies_to(priority)


def test_urgent_bypasses() -> None:
    assert not NIGHT.applies_to(Priority.URGENT)


# --- deferral in a steady offset ------------------------------------------------


def test_evening_defers_to_next_morning() -> None:
    # 22:00 CET on 14 January is 21:00 UTC; 08:00 CET next day is 07:00 UTC.
    assert NIGHT.defer_until(utc(2026, 1, 14, 21), AMS) == utc(2026, 1, 15, 7)


def test_after_midnight_defers_to_same_morning() -> None:
    assert NIGHT.defer_until(utc(2026, 1, 15, 2), AMS) == utc(2026, 1, 15, 7)


def test_exactly_at_start_is_deferred() -> None:
    assert NIGHT.defer_until(utc(2026, 1, 14, 20), AMS) == utc(2026, 1, 15, 7)


def test_exactly_at_end_is_not_deferred() -> None:
    assert NIGHT.defer_until(utc(2026, 1, 15, 7), AMS) is None


def test_daytime_is_not_deferred() -> None:
    assert NIGHT.defer_until(utc(2026, 1, 15, 12), AMS) is None


def test_window_within_a_day_defers_to_its_end() -> None:
    assert LUNCH.defer_until(utc(2026, 6, 1, 12, 30), None) == utc(2026, 6, 1, 13)


def test_customer_zone_decides_not_the_server() -> None:
    # 03:00 UTC: 04:00 in Amsterdam (quiet), 23:00 the previous evening in New York (quiet),
    # 12:00 in Tokyo (not quiet).
    now = utc(2026, 1, 15, 3)
    assert NIGHT.defer_until(now, AMS) == utc(2026, 1, 15, 7)
    assert NIGHT.defer_until(now, NYC) == utc(2026, 1, 15, 13)
    assert NIGHT.defer_until(now, "Asia/Tokyo") is None


@pytest.mark.parametrize("zone", [None, "", "Mars/Olympus", "../etc/passwd", "/etc/localtime"])
def test_missing_or_unknown_zone_uses_the_default(zone: str | None) -> None:
    assert NIGHT.zone(zone).key == AMS
    assert NIGHT.defer_until(utc(2026, 1, 15, 2), zone) == utc(2026, 1, 15, 7)


# --- DST: spring forward (gaps) ------------------------------------------------


def test_end_in_the_amsterdam_gap_moves_to_the_first_valid_instant() -> None:
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 never happens.
    early = QuietHours(time(1), time(2, 30))
    now = utc(2026, 3, 29, 0, 10)  # 01:10 CET
    assert early.defer_until(now, AMS) == utc(2026, 3, 29, 1)


def test_end_in_the_new_york_gap_moves_to_the_first_valid_instant() -> None:
    # 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    early = QuietHours(time(0), time(2, 15))
    now = utc(2026, 3, 8, 6, 30)  # 01:30 EST
    assert early.defer_until(now, NYC) == utc(2026, 3, 8, 7)


def test_end_in_a_half_hour_gap_moves_to_the_first_valid_instant() -> None:
    # Lord Howe Island, 4 October 2026: 02:00 (+10:30) jumps to 02:30 (+11:00),
    # which is 15:30 UTC on 3 October; 02:15 never happens.
    early = QuietHours(time(1), time(2, 15))
    now = utc(2026, 10, 3, 15, 0)  # 01:30 local
    assert early.defer_until(now, "Australia/Lord_Howe") == utc(2026, 10, 3, 15, 30)


def test_night_across_spring_forward_ends_at_local_eight() -> None:
    # 21:00 CET on 28 March to 08:00 CEST on 29 March: the night is an hour shorter.
    now = utc(2026, 3, 28, 22)  # 23:00 CET
    assert NIGHT.defer_until(now, AMS) == utc(2026, 3, 29, 6)


def test_start_in_the_gap_still_catches_the_rest_of_the_window() -> None:
    # 02:30 is skipped, but 03:00 CEST is after it and before 05:00: inside.
    window = QuietHours(time(2, 30), time(5))
    assert window.defer_until(utc(2026, 3, 29, 1), AMS) == utc(2026, 3, 29, 3)


# --- DST: fall back (overlaps) --------------------------------------------------


def test_end_in_the_amsterdam_overlap_is_its_first_occurrence() -> None:
    # 25 October 2026: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:30 happens
    # at 00:30 UTC (CEST) and again at 01:30 UTC (CET). The first one ends the window.
    early = QuietHours(time(1), time(2, 30))
    now = utc(2026, 10, 24, 23, 30)  # 01:30 CEST
    assert early.defer_until(now, AMS) == utc(2026, 10, 25, 0, 30)


def test_the_repeated_hour_does_not_reopen_a_closed_window() -> None:
    # 02:10 CET (second pass, 01:10 UTC) reads like the window, but the window closed
    # at the first 02:30 (00:30 UTC): the message goes out.
    early = QuietHours(time(1), time(2, 30))
    assert early.defer_until(utc(2026, 10, 25, 1, 10), AMS) is None


def test_start_in_the_repeated_hour_opens_at_its_first_occurrence() -> None:
    # 02:30-08:00 opens at 02:30 CEST (00:30 UTC) and stays closed through the
    # repeated 02:00-02:30 CET: nobody is woken in the middle of the night.
    window = QuietHours(time(2, 30), time(8))
    assert window.defer_until(utc(2026, 10, 25, 0, 20), AMS) is None
    assert window.defer_until(utc(2026, 10, 25, 0, 30), AMS) == utc(2026, 10, 25, 7)
    assert window.defer_until(utc(2026, 10, 25, 1, 10), AMS) == utc(2026, 10, 25, 7)


def test_end_in_the_new_york_overlap_is_its_first_occurrence() -> None:
    # 1 November 2026: 02:00 EDT falls back to 01:00 EST (06:00 UTC); 01:30 happens
    # at 05:30 UTC (EDT) and at 06:30 UTC (EST).
    early = QuietHours(time(0), time(1, 30))
    now = utc(2026, 11, 1, 4, 30)  # 00:30 EDT
    assert early.defer_until(now, NYC) == utc(2026, 11, 1, 5, 30)


def test_night_across_fall_back_ends_at_local_eight() -> None:
    # 21:00 CEST on 24 October to 08:00 CET on 25 October: the night is an hour longer.
    now = utc(2026, 10, 24, 20)  # 22:00 CEST
    assert NIGHT.defer_until(now, AMS) == utc(2026, 10, 25, 7)


# --- properties ------------------------------------------------------------------

zones = st.sampled_from([AMS, NYC, "UTC", "Australia/Lord_Howe", "Asia/Kolkata"])
clocks = st.times().map(lambda t: t.replace(microsecond=0, fold=0))
transition_days = st.sampled_from(
    [
        date(2026, 3, 8),  # New York springs forward
        date(2026, 3, 29),  # Amsterdam springs forward
        date(2026, 4, 5),  # Lord Howe falls back half an hour
        date(2026, 10, 4),  # Lord Howe springs forward half an hour
        date(2026, 10, 25),  # Amsterdam falls back
        date(2026, 11, 1),  # New York falls back
        date(2026, 6, 15),  # no change anywhere
    ]
)
offsets = st.integers(min_value=-36 * 3600, max_value=36 * 3600).map(lambda s: timedelta(seconds=s))


@given(clocks, clocks, zones, transition_days, offsets)
def test_a_deferral_is_one_continuous_window_with_a_bounded_end(
    start: time, end: time, zone: str, day: date, offset: timedelta
) -> None:
    hours = QuietHours(start, end)
    now = datetime.combine(day, time(), tzinfo=UTC) + offset
    until = hours.defer_until(now, zone)
    if until is None:
        return
    assert now < until <= now + timedelta(hours=25)
    midway = now + (until - now) / 2
    assert hours.defer_until(midway, zone) == until
    again = hours.defer_until(until, zone)
    assert again is None or again > until


@given(clocks.filter(lambda t: t != time(0)), zones, transition_days)
def test_the_window_closes_when_the_clock_first_reads_end(end: time, zone: str, day: date) -> None:
    hours = QuietHours(time(0), end)
    opens, closes = hours.window(day, zone)
    tz = hours.zone(zone)
    assert opens < closes
    assert closes.astimezone(tz).time() >= end
    assert (closes - timedelta(microseconds=1)).astimezone(tz).time() < end
