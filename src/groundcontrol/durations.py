"""Durations written as in the journeys file and config: "2s", "15m", "48h", "3d"."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


def parse_duration(text: str) -> timedelta:
    """Parse "30s" into a timedelta; raise ValueError naming the accepted form."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(
            f"invalid duration {text!r}: use a number and a unit, e.g. 30s, 15m, 48h, 3d"
        )
    amount, unit = match.groups()
    return timedelta(seconds=float(amount) * _UNITS[unit])


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of a duration, for messages and docs."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds * 1000)}ms"
