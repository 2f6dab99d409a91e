"""Quiet hours: no message reaches a customer's phone at night, in their own time zone.

The window is a span of local wall-clock time, so it follows DST: "21:00-08:00" means
those clock readings in the customer's zone, whatever their UTC offset that night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from groundcontrol.domain import Priority
from groundcontrol.settings import QuietHoursSettings

_RESOLUTION = timedelta(microseconds=1)


@dataclass(frozen=True)
class QuietHours:
    """A nightly window of local time in which non-urgent messages wait.

    Each local day has one window: it opens the first time that day the clock reads
    `start` and closes the first time after that the clock reads `end` (the next day
    when the window crosses midnight, as 21:00-08:00). `start` is inside, `end` is not:
    a message due at exactly `end` goes out. start == end means no window.

    Across DST changes:
    - a time in a gap (02:30 on a spring-forward day) means the first valid instant
      after the gap (03:00 local);
    - a time that occurs twice (fall-back) means its first occurrence (fold=0), so
      the repeated hour after a window closed does not reopen it.
    """

    start: time
    end: time
    default_timezone: str = "UTC"
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are local wall-clock times: give naive times")
        if _zone(self.default_timezone) is None:
            raise ValueError(f"unknown default time zone {self.default_timezone!r}")

    @classmethod
    def from_settings(cls, settings: QuietHoursSettings) -> QuietHours:
        """The window configured by `[quiet_hours]`; a ValueError names a bad key."""
        if _zone(settings.default_timezone) is None:
            raise ValueError(
                f"quiet_hours.default_timezone: unknown time zone {settings.default_timezone!r}"
            )
        return cls(
            start=_parse_clock("quiet_hours.start", settings.start),
            end=_parse_clock("quiet_hours.end", settings.end),
            default_timezone=settings.default_timezone,
            enabled=settings.enabled,
        )

    @property
    def active(self) -> bool:
        return self.enabled and self.start != self.end

    def applies_to(self, priority: Priority) -> bool:
        """Whether a message of this priority waits for the window: urgent never does."""
        return self.active and priority is not Priority.URGENT

    def zone(self, timezone: str | None) -> ZoneInfo:
        """The customer's zone; a missing or unknown one falls back to the default."""
        return _zone(timezone) or ZoneInfo(self.default_timezone)

    def window(self, day: date, timezone: str | None) -> tuple[datetime, datetime]:
        """The UTC instants the window of local `day` opens and closes."""
        zone = self.zone(timezone)
        crosses_midnight = self.start > self.end
        closing_day = day + timedelta(days=1) if crosses_midnight else day
        return _first_instant(day, self.start, zone), _first_instant(closing_day, self.end, zone)

    def defer_until(self, now: datetime, timezone: str | None) -> datetime | None:
        """The UTC instant the window ends if `now` is inside it, else None."""
        around = self.window_around(now, timezone)
        return around[1] if around is not None else None

    def window_around(
        self, now: datetime, timezone: str | None
    ) -> tuple[datetime, datetime] | None:
        """The window (opens, closes) that `now` is inside, in UTC, else None."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if not self.active:
            return None
        today = now.astimezone(self.zone(timezone)).date()
        for day in (today - timedelta(days=1), today):
            opens, closes = self.window(day, timezone)
            if opens <= now < closes:
                return opens, closes
        return None


def _parse_clock(key: str, text: str) -> time:
    try:
        parsed = time.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{key}: invalid time {text!r}, use HH:MM such as 21:00") from None
    if parsed.tzinfo is not None:
        raise ValueError(f"{key}: {text!r} has an offset; quiet hours are customer-local")
    return parsed


def _zone(key: str | None) -> ZoneInfo | None:
    if not key:
        return None
    try:
        return ZoneInfo(key)
    # Keys come from customers' payloads: malformed ones ("../x", "") raise ValueError,
    # and a key naming a directory or unreadable file an OSError on some platforms.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _first_instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The first instant on local `day` whose clock reads `clock`, in UTC."""
    local = datetime.combine(day, clock, tzinfo=zone)  # fold=0: the first occurrence
    return _gap_end(local) if _is_gap(local) else local.astimezone(UTC)


def _is_gap(local: datetime) -> bool:
    round_trip = local.astimezone(UTC).astimezone(local.tzinfo)
    return round_trip.replace(tzinfo=None) != local.replace(tzinfo=None)


def _gap_end(local: datetime) -> datetime:
    """The transition instant that skipped over `local`: the first valid time after it.

    Inside a gap, fold=1 maps to an instant before the transition and fold=0 to one
    after it (PEP 495); bisect between them for the first instant whose local
    clock reads `local` or later. zoneinfo does not expose its transitions.
    """
    before = local.replace(fold=1).astimezone(UTC)
    after = local.replace(fold=0).astimezone(UTC)
    wall = local.replace(tzinfo=None)
    while after - before > _RESOLUTION:
        middle = before + (after - before) // 2
        if middle.astimezone(local.tzinfo).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return after
