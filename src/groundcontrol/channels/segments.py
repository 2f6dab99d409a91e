"""How many SMS segments a body costs, known before sending (GSM 03.38 / UCS-2).

A body that fits the GSM-7 alphabet is packed in 7-bit septets: 160 in a single
segment, 153 per segment once it is split (each part carries a 6-byte
concatenation header). Characters of the extension table (`€ [ ] { } \\ ^ ~ |`
and form feed) are sent as an escape plus a septet, so they cost two, and a
carrier never splits that pair across segments.

Any character outside GSM-7 switches the whole body to UCS-2: 70 UTF-16 code
units in a single segment, 67 per part. Characters outside the Basic
Multilingual Plane (most emoji) are a surrogate pair, two code units that are
never split across segments either.

The empty body counts as 0 segments: carriers would bill one, but Ground
Control never sends an empty SMS (the channel refuses it), so 0 means "nothing
to send" rather than pretending a cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# (single segment, per part of a multipart message), in septets or code units.
_LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class SegmentInfo:
    """The encoding a body needs, how many segments it takes and how many
    septets (GSM-7) or UTF-16 code units (UCS-2) it is."""

    encoding: Encoding
    segments: int
    units: int


def count_segments(text: str) -> SegmentInfo:
    """Count the segments `text` costs as one SMS."""
    encoding: Encoding = "GSM-7" if _fits_gsm7(text) else "UCS-2"
    costs = [_gsm7_cost(ch) if encoding == "GSM-7" else _ucs2_cost(ch) for ch in text]
    return SegmentInfo(encoding, _pack(costs, *_LIMITS[encoding]), sum(costs))


def _fits_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _gsm7_cost(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _ucs2_cost(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _pack(costs: list[int], single: int, per_part: int) -> int:
    """Fill parts greedily; a character whose units do not fit opens the next part."""
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return parts
