"""Planning a batch in memory: the same answers as event by event, rows to write once."""

from __future__ import annotations

from datetime import timedelta

from tests.contract.test_store_contract import T0, planner

from groundcontrol.domain import CaseState, Customer, CustomerPatch, Event, Priority
from groundcontrol.planning.events import SupersedeMark, plan_batch
from groundcontrol.planning.rows import StoredEvent
from groundcontrol.store.contract import IngestStatus

ADA = Customer(id="cust-1", email="ada@example.com", channels=("email",))
FIELDS = {"email": "ada@example.com", "channels": ["email"]}


def event(event_id: str, status: str = "received", case_id: str = "C-1", **kw: object) -> Event:
    values: dict[str, object] = {
        "source": "crm",
        "id": event_id,
        "case_id": case_id,
        "status": status,
        "occurred_at": T0,
        "customer": CustomerPatch("cust-1", FIELDS),
        "body_hash": f"h-{event_id}",
    }
    return Event(**(values | kw))  # type: ignore[arg-type]


def test_a_repeat_inside_the_batch_answers_the_first_result() -> None:
    batch = plan_batch(
        [event("e1"), event("e1"), event("e1", body_hash="other")],
        stored_events={},
        customers={},
        cases={},
        planner=planner(T0),
        now=T0,
    )
    first, again, conflict = batch.results
    assert first.status is IngestStatus.ACCEPTED
    assert (again.status, again.notification_ids) == (
        IngestStatus.DUPLICATE,
        first.notification_ids,
    )
    assert conflict.status is IngestStatus.CONFLICT
    assert len(batch.events) == 1
    assert len(batch.notifications) == 1


def test_a_stored_event_is_a_duplicate_and_writes_nothing() -> None:
    stored = {("crm", "e1"): StoredEvent("h-e1", "planned", ("n_1",))}
    batch = plan_batch(
        [event("e1")], stored_events=stored, customers={}, cases={}, planner=planner(T0), now=T0
    )
    assert batch.results[0].notification_ids == ("n_1",)
    assert (batch.events, batch.notifications, batch.timeline) == ([], [], [])


def test_an_unknown_customer_reference_writes_nothing() -> None:
    unknown = event("e1", customer=CustomerPatch("nobody", {}))
    batch = plan_batch(
        [unknown], stored_events={}, customers={}, cases={}, planner=planner(T0), now=T0
    )
    assert batch.results[0].status is IngestStatus.UNKNOWN_CUSTOMER
    assert (batch.events, batch.new_cases, batch.timeline) == ([], {}, [])


def test_a_newer_status_supersedes_what_the_batch_planned_and_marks_the_stored_rows() -> None:
    known = CaseState("C-1", "cust-1", "received", None, T0, None, Priority.NORMAL, {})
    later = T0 + timedelta(minutes=1)
    batch = plan_batch(
        [event("e1", "escalated", occurred_at=later), event("e2", "resolved", occurred_at=later)],
        stored_events={},
        customers={"cust-1": ADA},
        cases={"C-1": known},
        planner=planner(T0),
        now=T0,
    )
    marks = [item for item in batch.timeline if isinstance(item, SupersedeMark)]
    assert [m.case_id for m in marks] == ["C-1"]  # the stored rows go once, at e1
    states = [row["state"] for row in batch.notifications]
    assert states == ["superseded", "pending"]
    assert batch.changed_cases["C-1"].status == "resolved"
    assert batch.changed_cases["C-1"].previous_status == "escalated"


def test_a_follow_up_cancelled_in_the_batch_gets_its_id_later() -> None:
    batch = plan_batch(
        [event("e1"), event("e2", "resolved", occurred_at=T0 + timedelta(minutes=1))],
        stored_events={},
        customers={},
        cases={},
        planner=planner(T0),
        now=T0,
    )
    [follow_up] = batch.follow_ups
    assert follow_up["state"] == "cancelled"
    assert len(follow_up["_details"]) == 2  # scheduled, then cancelled: both await the id
    kinds = [item[1][0] for item in batch.timeline if not isinstance(item, SupersedeMark)]
    assert kinds.index("follow_up_scheduled") < kinds.index("follow_up_cancelled")
