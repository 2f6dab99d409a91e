from __future__ import annotations

import pytest

from groundcontrol.channels.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SegmentInfo,
    count_segments,
)


def test_empty_body_costs_nothing() -> None:
    assert count_segments("") == SegmentInfo("GSM-7", 0, 0)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (153 * 2, 2), (153 * 2 + 1, 3), (153 * 3, 3)],
)
def test_gsm7_boundaries(length: int, segments: int) -> None:
    assert count_segments("a" * length) == SegmentInfo("GSM-7", segments, length)


def test_every_basic_character_is_one_septet() -> None:
    text = "".join(sorted(GSM7_BASIC))
    assert count_segments(text) == SegmentInfo("GSM-7", 1, len(GSM7_BASIC))


@pytest.mark.parametrize("char", sorted(GSM7_EXTENSION))
def test_extension_characters_cost_two_septets(char: str) -> None:
    assert count_segments(char) == SegmentInfo("GSM-7", 1, 2)


def test_extension_table_is_the_gsm_one() -> None:
    assert set("€[]{}\\^~|\f") == GSM7_EXTENSION


def test_extension_character_filling_a_single_segment_exactly() -> None:
    assert count_segments("a" * 158 + "€") == SegmentInfo("GSM-7", 1, 160)


def test_extension_character_overflowing_a_single_segment() -> None:
    assert count_segments("a" * 159 + "€") == SegmentInfo("GSM-7", 2, 161)


def test_extension_character_is_not_split_across_parts() -> None:
    # 152 septets then an escape pair: the pair would straddle parts 1 and 2, so it
    # moves to part 2 whole; 153 + 152 more fit in two parts only without that rule.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text) == SegmentInfo("GSM-7", 3, 306)
    assert count_segments("a" * 306) == SegmentInfo("GSM-7", 2, 306)


def test_one_non_gsm_character_switches_everything_to_ucs2() -> None:
    assert count_segments("a" * 100 + "ł") == SegmentInfo("UCS-2", 2, 101)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(70, 1), (71, 2), (67 * 2, 2), (67 * 2 + 1, 3)],
)
def test_ucs2_boundaries(length: int, segments: int) -> None:
    assert count_segments("ł" * length) == SegmentInfo("UCS-2", segments, length)


def test_accented_letters_in_the_gsm_alphabet_stay_gsm7() -> None:
    assert count_segments("é" * 160).encoding == "GSM-7"


def test_lowercase_c_cedilla_is_not_gsm7() -> None:
    # Only capital Ç is in GSM 03.38; ç forces UCS-2.
    assert count_segments("ç").encoding == "UCS-2"


def test_emoji_is_two_code_units() -> None:
    assert count_segments("😀" * 35) == SegmentInfo("UCS-2", 1, 70)
    assert count_segments("😀" * 35 + "a") == SegmentInfo("UCS-2", 2, 71)


def test_emoji_is_not_split_across_parts() -> None:
    # 66 units then a surrogate pair: it moves to part 2 whole.
    text = "ł" * 66 + "😀" + "ł" * 66
    assert count_segments(text) == SegmentInfo("UCS-2", 3, 134)
    assert count_segments("ł" * 134) == SegmentInfo("UCS-2", 2, 134)


def test_emoji_ending_a_part_exactly() -> None:
    text = "ł" * 65 + "😀" + "ł" * 67
    assert count_segments(text) == SegmentInfo("UCS-2", 2, 134)
