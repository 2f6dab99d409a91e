"""Locale-aware date filters for message templates, backed by Babel.

The filters read two context variables the renderer sets: `locale` (the
locale the message is written in) and `timezone` (the customer's IANA zone).
Relative times are measured from the context's `now`, the injected clock, so a
preview and a test render the same words as the dispatcher would.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    format_timedelta,
    get_datetime_format,
)
from jinja2 import pass_context
from jinja2.runtime import Context

FALLBACK_LOCALE = "en"
Granularity = Literal["year", "month", "week", "day", "hour", "minute", "second"]


@lru_cache(maxsize=256)
def babel_locale(tag: str | None) -> Locale:
    """The Babel locale for a tag like `nl-NL`/`nl_NL`; English when unknown."""
    try:
        return Locale.parse((tag or FALLBACK_LOCALE).replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(FALLBACK_LOCALE)


@lru_cache(maxsize=256)
def zone(name: str | None) -> tzinfo:
    """The IANA zone by name; UTC when absent or unknown (a bad zone must not block a message)."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def parse_moment(value: Any) -> date | datetime:
    """A date or aware datetime from a date, datetime or ISO 8601 string (naive means UTC)."""
    if isinstance(value, str):
        value = _parse_iso(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date, datetime or ISO 8601 string, got {type(value).__name__}")


def _parse_iso(text: str) -> date | datetime:
    text = text.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or datetime") from None


def _settings(context: Context) -> tuple[Locale, tzinfo]:
    return babel_locale(context.get("locale")), zone(context.get("timezone"))


@pass_context
def date_filter(context: Context, value: Any, format: str = "long") -> str:
    """`{{ case.data.eta | date }}` -> "25 November 2026" (in the customer's timezone)."""
    locale, tz = _settings(context)
    moment = parse_moment(value)
    day = moment.astimezone(tz).date() if isinstance(moment, datetime) else moment
    return format_date(day, format=format, locale=locale)


@pass_context
def datetime_filter(context: Context, value: Any, format: str | None = None) -> str:
    """`{{ event.occurred_at | datetime }}` -> "25 November 2026, 10:00" in the customer's zone.

    `format` is a Babel format name (short, medium, long, full) or a CLDR pattern;
    the default pairs a long date with a short time, which reads well in a message.
    """
    locale, tz = _settings(context)
    moment = parse_moment(value)
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, datetime.min.time(), tzinfo=tz)
    if format is not None:
        return format_datetime(moment, format=format, tzinfo=tz, locale=locale)
    local = moment.astimezone(tz)
    pattern = get_datetime_format("long", locale=locale)
    return str(pattern).format(
        format_time(local, format="short", locale=locale),
        format_date(local.date(), format="long", locale=locale),
    )


@pass_context
def relative_filter(context: Context, value: Any, granularity: Granularity = "minute") -> str:
    """`{{ case.data.eta | timeago }}` -> "in 3 days" / "2 hours ago", measured from `now`."""
    locale, tz = _settings(context)
    now = _now(context)
    moment = parse_moment(value)
    if isinstance(moment, datetime):
        delta = moment - now
    else:
        delta = timedelta(days=(moment - now.astimezone(tz).date()).days)
        granularity = "day"
    return format_timedelta(delta, granularity=granularity, add_direction=True, locale=locale)


def _now(context: Context) -> datetime:
    now = context.get("now")
    if isinstance(now, datetime):
        return now if now.tzinfo else now.replace(tzinfo=UTC)
    return datetime.now(UTC)


FILTERS: Mapping[str, Any] = {
    "date": date_filter,
    "datetime": datetime_filter,
    "timeago": relative_filter,
    "relative": relative_filter,
}
