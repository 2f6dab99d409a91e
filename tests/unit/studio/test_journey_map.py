"""The journey map: each status, its message and follow-up, with the gaps."""

from __future__ import annotations

from groundcontrol.planning.journeys import parse_journeys
from groundcontrol.studio.catalogue import coverage
from groundcontrol.studio.journey_map import stages

JOURNEYS = parse_journeys(
    {
        "rules": [
            {
                "status": "in_progress",
                "template": "case_in_progress",
                "priority": "high",
                "follow_up": {
                    "after": "72h",
                    "template": "still_working",
                    "every": "72h",
                    "max": 3,
                },
            },
            {"status": "resolved", "template": "case_resolved"},
        ]
    }
)


def test_each_status_reads_at_once_then_its_follow_up() -> None:
    locales, rows = coverage(["case_in_progress/sms.j2", "still_working/sms.j2"], [], [])
    [progress, resolved] = stages(JOURNEYS, rows, locales)
    assert progress.status == "in_progress"
    assert [(s.when, s.title) for s in progress.steps] == [
        ("At once (high priority)", "Case in progress"),
        ("After 72 h of silence, then every 72 h, at most 3 times", "Still working"),
    ]
    assert [s.title for s in resolved.steps] == ["Case resolved"]


def test_gaps_are_the_channels_and_languages_without_words() -> None:
    locales, rows = coverage(["case_in_progress/sms.j2", "case_in_progress/sms.nl.j2"], [], [])
    [progress, resolved] = stages(JOURNEYS, rows, locales)
    first, follow_up = progress.steps
    assert {cell.key.file for cell in first.gaps} == {
        "case_in_progress/email.j2",
        "case_in_progress/email.nl.j2",
        "case_in_progress/chat.j2",
        "case_in_progress/chat.nl.j2",
    }
    assert len(follow_up.gaps) == 6  # a template no file has: every channel and language
    assert len(resolved.steps[0].gaps) == 6
