from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import jinja2
import pytest

from groundcontrol.templates.filters import babel_locale, parse_moment, zone
from groundcontrol.templates.sandbox import MessageSandbox

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def render(source: str, locale: str, timezone: str | None = None, **variables: Any) -> str:
    env = MessageSandbox(jinja2.DictLoader({}), max_output_chars=1000)
    template = env.from_string(source)
    return template.render(locale=locale, timezone=timezone, now=NOW, **variables)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en", "November 25, 2026"), ("nl", "25 november 2026"), ("nl-BE", "25 november 2026")],
)
def test_date_in_two_locales(locale: str, expected: str) -> None:
    assert render("{{ '2026-11-25' | date }}", locale) == expected


def test_date_takes_a_babel_format() -> None:
    assert render("{{ d | date('short') }}", "nl", d=date(2026, 11, 25)) == "25-11-2026"


def test_date_of_a_datetime_is_the_day_in_the_customer_timezone() -> None:
    late = "2026-11-25T23:30:00Z"
    assert render("{{ v | date }}", "en", "Europe/Amsterdam", v=late) == "November 26, 2026"
    assert render("{{ v | date }}", "en", None, v=late) == "November 25, 2026"


@pytest.mark.parametrize(
    ("locale", "timezone", "expected"),
    [
        ("en", "Europe/Amsterdam", "November 22, 2026, 11:00\u202fAM"),
        ("nl", "Europe/Amsterdam", "22 november 2026, 11:00"),
        ("nl", None, "22 november 2026, 10:00"),
    ],
)
def test_datetime_in_the_customer_timezone(
    locale: str, timezone: str | None, expected: str
) -> None:
    assert render("{{ v | datetime }}", locale, timezone, v="2026-11-22T10:00:00Z") == expected


def test_datetime_accepts_datetimes_and_a_pattern() -> None:
    moment = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert render("{{ v | datetime('HH:mm') }}", "nl", "Asia/Tokyo", v=moment) == "19:00"


@pytest.mark.parametrize(
    ("locale", "value", "expected"),
    [
        ("en", "2026-11-25", "in 3 days"),
        ("nl", "2026-11-25", "over 3 dagen"),
        ("en", "2026-11-22T08:00:00Z", "2 hours ago"),
        ("nl", "2026-11-22T08:00:00Z", "2 uur geleden"),
    ],
)
def test_relative_time_from_the_injected_now(locale: str, value: str, expected: str) -> None:
    assert render("{{ v | timeago }}", locale, v=value) == expected
    assert render("{{ v | relative }}", locale, v=value) == expected


def test_unknown_locale_and_zone_fall_back_instead_of_failing() -> None:
    assert str(babel_locale("xx-YY")) == "en"
    assert zone("Mars/Olympus") is UTC
    assert render("{{ '2026-11-25' | date }}", "xx") == "November 25, 2026"


def test_naive_datetimes_are_utc() -> None:
    assert parse_moment(datetime(2026, 1, 1, 12, 0)) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", [12, "next tuesday", None])
def test_values_that_are_not_dates_are_refused(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        parse_moment(value)
