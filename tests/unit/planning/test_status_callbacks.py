"""The one rule of `notification.status`: who hears of a change, and what it says."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from tests.unit.delivery.test_decisions import CLAIM, NOW

from groundcontrol.domain import Decision, DecisionKind
from groundcontrol.planning.callbacks import CallbackRoutes, CaseRef
from groundcontrol.planning.status_callbacks import (
    StateChange,
    created_in,
    decided,
    released,
    status_callbacks,
    wanted,
)
from groundcontrol.planning.transitions import failure

CASE = CaseRef(CLAIM.case.id, CLAIM.customer.id, "received", "crm")
ROUTES = CallbackRoutes({"crm": frozenset({"notification.status"})})
CHANGE = StateChange("n_1", CASE.case_id, "email", "sent", "sending", 1)


def test_nobody_opted_in_means_nothing_is_wanted() -> None:
    assert not wanted(CallbackRoutes({"crm": frozenset({"customer.unreachable"})}))
    assert wanted(ROUTES)


def test_a_change_of_an_opted_in_source_s_case_is_one_callback() -> None:
    [row] = status_callbacks(ROUTES, [CHANGE], {CASE.case_id: CASE}, NOW)
    assert (row["source"], row["type"], row["state"], row["case_id"]) == (
        "crm",
        "notification.status",
        "pending",
        CASE.case_id,
    )
    body = row["body"]
    assert body["id"] == row["id"]
    assert (body["customer_id"], body["status"], body["occurred_at"]) == (
        CASE.customer_id,
        "received",
        NOW.isoformat(),
    )
    assert body["data"] == {
        "notification_id": "n_1",
        "channel": "email",
        "state": "sent",
        "previous_state": "sending",
        "attempt": 1,
        "reason": None,
    }


def test_other_sources_and_unknown_cases_hear_nothing() -> None:
    erp = replace(CASE, source="erp")
    assert status_callbacks(ROUTES, [CHANGE], {CASE.case_id: erp}, NOW) == []
    assert status_callbacks(ROUTES, [CHANGE], {}, NOW) == []
    assert status_callbacks(ROUTES, [CHANGE], {CASE.case_id: replace(CASE, source=None)}, NOW) == []


def test_ids_sort_in_the_order_the_changes_were_made() -> None:
    changes = [replace(CHANGE, notification_id=f"n_{i}") for i in range(50)]
    rows = status_callbacks(ROUTES, changes, {CASE.case_id: CASE}, NOW)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    later = status_callbacks(ROUTES, [CHANGE], {CASE.case_id: CASE}, NOW - timedelta(hours=1))
    assert later[0]["id"] < rows[0]["id"], "an earlier time sorts first"
    assert all(len(r["id"]) <= 40 for r in rows), "fits callbacks.id"


@pytest.mark.parametrize(
    ("decision", "state", "attempt"),
    [
        (Decision(DecisionKind.SENT, provider_id="p", detail="queued as X"), "sent", 1),
        (Decision(DecisionKind.RETRY, detail="503", at=NOW), "pending", 1),
        (Decision(DecisionKind.DEFER, detail="quiet hours", at=NOW), "pending", 0),
        (Decision(DecisionKind.FAIL, detail="550", fallback_channel="sms"), "failed", 1),
        (Decision(DecisionKind.FAIL, detail="550"), "dead", 1),
        (Decision(DecisionKind.SUPERSEDE, detail="newer"), "superseded", 0),
        (Decision(DecisionKind.CANCEL, detail="opted out"), "cancelled", 0),
    ],
)
def test_each_decision_is_its_state_from_sending(
    decision: Decision, state: str, attempt: int
) -> None:
    change = decided(CLAIM, decision, NOW)
    assert (change.state, change.previous, change.attempt) == (state, "sending", attempt)
    assert change.reason == (None if decision.kind is DecisionKind.SENT else decision.detail)


def test_a_fallback_is_created_pending() -> None:
    decision = Decision(DecisionKind.FAIL, detail="550", fallback_channel="sms")
    entries, row = failure(CLAIM, decision, NOW)
    assert row is not None
    [change] = created_in(CLAIM.case.id, entries)
    assert (change.notification_id, change.channel, change.state, change.previous) == (
        row["id"],
        "sms",
        "pending",
        None,
    )


def test_a_release_gives_the_attempt_back() -> None:
    change = released(CLAIM, "shutdown before sending")
    assert (change.state, change.previous, change.attempt) == ("pending", "sending", 0)
