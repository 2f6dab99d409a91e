"""The message list: coverage per channel and language, in words and journey order."""

from __future__ import annotations

from datetime import UTC, datetime

from groundcontrol.planning.journeys import parse_journeys
from groundcontrol.store.templates import Draft, TemplateKey, TemplateVersion
from groundcontrol.studio.catalogue import coverage, messages

AT = datetime(2026, 11, 22, 10, tzinfo=UTC)
FILES = ["case_received/sms.j2", "case_received/email.j2", "still_working/sms.j2"]
JOURNEYS = parse_journeys(
    {
        "rules": [
            {
                "status": "received",
                "template": "case_received",
                "follow_up": {"after": "48h", "template": "still_working"},
            }
        ]
    }
)


def states(
    files: list[str], versions: list[TemplateVersion], drafts: list[Draft]
) -> dict[str, str]:
    _, rows = coverage(files, versions, drafts)
    return {cell.key.file: cell.state for row in rows for cell in row.cells}


def test_each_cell_says_in_words_where_its_words_come_from() -> None:
    published = TemplateVersion(TemplateKey.parse("case_received/sms.j2"), 2, "x", "Ada", "", AT)
    found = states(FILES, [published], [])
    assert found["case_received/sms.j2"] == "v2"
    assert found["case_received/email.j2"] == "ready"
    assert found["case_received/chat.j2"] == "missing"


def test_a_draft_of_a_new_language_adds_its_column_but_is_not_words_in_use() -> None:
    draft = Draft(TemplateKey.parse("case_received/sms.fr.j2"), "Bonjour", 1, "Ada", AT)
    found = states(FILES, [], [draft])
    assert found["case_received/sms.fr.j2"] == "missing, draft"
    assert found["still_working/sms.fr.j2"] == "missing"


def test_messages_come_in_journey_order_with_when_they_are_sent() -> None:
    _, rows = coverage([*FILES, "old_promo/sms.j2"], [], [])
    listed = messages(JOURNEYS, rows)
    assert [(m.title, m.when) for m in listed] == [
        ("Case received", ["When a case becomes received"]),
        ("Still working", ["While a case stays received: after 48 h of silence, once"]),
        ("Old promo", ["Not sent by any journey rule"]),
    ]


def test_a_question_in_words_finds_the_messages_about_its_status() -> None:
    _, rows = coverage([*FILES, "old_promo/sms.j2"], [], [])
    listed = messages(JOURNEYS, rows)
    found = [m.title for m in listed if m.matches("what do we send when a case is received")]
    assert found == ["Case received", "Still working"]
    assert [m.title for m in listed if m.matches("promo")] == ["Old promo"]
    assert len([m for m in listed if m.matches("")]) == 3
