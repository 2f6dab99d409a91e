"""The "Insert a field" list offers what the samples hold, guarded where some lack it."""

from __future__ import annotations

from pathlib import Path

from groundcontrol.studio.field_offers import Offer, label, offers
from groundcontrol.templates.context import load_samples, sample_from_mapping

REPO = Path(__file__).resolve().parents[3]
SAMPLES = load_samples(REPO / "templates" / "_samples")


def by_path() -> dict[str, Offer]:
    return {offer.path: offer for offer in offers(SAMPLES)}


def test_fields_every_sample_has_are_inserted_plainly() -> None:
    case_id = by_path()["case.id"]
    assert case_id == Offer("case.id", "Case reference", "C-2040", everywhere=True)
    assert case_id.snippet == "{{ case.id }}"


def test_the_example_comes_from_the_first_sample_that_has_one() -> None:
    received = next(s for s in SAMPLES if s.name == "received")
    first = {o.path: o for o in offers([received, *SAMPLES])}
    assert first["case.id"].example == "C-1001"


def test_fields_some_sample_lacks_are_inserted_with_a_default() -> None:
    eta = by_path()["case.data.eta"]
    assert (eta.label, eta.example, eta.everywhere) == ("ETA", "2026-12-02", False)
    assert eta.snippet == '{{ case.data.eta | default("", true) }}'
    assert not by_path()["customer.first_name"].everywhere  # the minimal sample has no name


def test_customer_then_case_then_case_data_then_event() -> None:
    paths = [offer.path for offer in offers(SAMPLES)]
    assert paths[:7] == [
        "customer.first_name",
        "customer.name",
        "customer.email",
        "customer.phone",
        "case.id",
        "case.status",
        "case.previous_status",
    ]
    data = [p for p in paths if p.startswith("case.data.")]
    assert data == sorted(data) and "case.data.case_title" in data
    assert paths.index(data[-1]) < paths.index("event.occurred_at")


def test_nested_data_is_offered_by_its_dotted_path_and_lists_are_not() -> None:
    sample = sample_from_mapping(
        "nested",
        {
            "customer": {"id": "c"},
            "case": {
                "id": "C-1",
                "status": "received",
                "data": {"address": {"city": "Delft"}, "items": [1, 2], "bad key": 1},
            },
        },
    )
    paths = [offer.path for offer in offers([sample])]
    assert "case.data.address.city" in paths
    assert not any("items" in p or "bad" in p for p in paths)


def test_long_examples_are_cut() -> None:
    sample = sample_from_mapping(
        "long",
        {"customer": {"id": "c"}, "case": {"id": "C", "status": "s", "data": {"note": "x" * 90}}},
    )
    [note] = [o for o in offers([sample]) if o.path == "case.data.note"]
    assert note.example == "x" * 39 + "…"


def test_labels_read_as_words() -> None:
    assert label("case.data.case_title") == "Case title"
    assert label("customer.first_name") == "First name"
    assert label("case.data.eta") == "ETA"  # a short key is an abbreviation


def test_a_date_every_sample_has_is_inserted_as_a_date() -> None:
    occurred = by_path()["event.occurred_at"]
    assert occurred.snippet == "{{ event.occurred_at | date }}"
