"""Side-by-side diffs, and e-mails compared field by field."""

from __future__ import annotations

from groundcontrol.studio.side_diff import DiffRow, Section, sections, side_by_side


def email(subject: str, body: str) -> str:
    return (
        '{% extends "_layouts/email.j2" %}\n'
        f"{{% block subject %}}{subject}{{% endblock %}}\n"
        f"{{% block message %}}\n{body}{{% endblock %}}\n"
    )


def test_changed_lines_pair_up_and_extra_lines_stand_alone() -> None:
    assert side_by_side("one\ntwo\nthree", "one\n2\nthree\nfour") == [
        DiffRow("same", 1, "one", 1, "one"),
        DiffRow("changed", 2, "two", 2, "2"),
        DiffRow("same", 3, "three", 3, "three"),
        DiffRow("added", None, None, 4, "four"),
    ]
    assert side_by_side("a\nb", "a") == [
        DiffRow("same", 1, "a", 1, "a"),
        DiffRow("removed", 2, "b"),
    ]


def test_long_unchanged_stretches_fold_into_a_gap() -> None:
    before = "\n".join(f"line {n}" for n in range(1, 21))
    after = before.replace("line 2\n", "line two\n").replace("line 19", "line nineteen")
    rows = side_by_side(before, after, context=1)
    assert [r.kind for r in rows] == ["same", "changed", "same", "gap", "same", "changed", "same"]


def test_no_change_is_no_rows() -> None:
    assert side_by_side("same", "same") == []


def test_an_email_is_compared_per_field_without_its_layout_tags() -> None:
    found = sections("email", email("Hello", "Hi,\nBye\n"), email("Hello", "Hi,\nSee you\n"))
    assert [(s.name, s.changed) for s in found] == [("Subject", False), ("Message", True)]
    assert DiffRow("changed", 2, "Bye", 2, "See you") in found[1].rows


def test_a_template_without_fields_is_compared_whole() -> None:
    found = sections("email", "{% block html %}{% endblock %}", email("a", "b\n"))
    assert [s.name for s in found] == ["Template"]
    assert sections("sms", "a", "b") == [Section("Message", [DiffRow("changed", 1, "a", 1, "b")])]
