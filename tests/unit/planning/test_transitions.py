"""What a failed send writes: its entries and, when a channel is left, the fallback row."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.delivery.test_decisions import CLAIM, NOW

from groundcontrol.domain import Decision, DecisionKind, NotificationState
from groundcontrol.planning.transitions import decision_changes, failure


def test_a_failure_with_a_channel_left_falls_back_at_once_linked_to_the_failed_one() -> None:
    decision = Decision(DecisionKind.FAIL, detail="550 no such user", fallback_channel="sms")

    entries, row = failure(CLAIM, decision, NOW)

    assert row is not None
    assert (row["channel"], row["previous_id"], row["tried_channels"], row["due_at"]) == (
        "sms",
        CLAIM.notification_id,
        ["email"],
        NOW,
    )
    assert [(kind, nid) for kind, nid, _ in entries] == [
        ("failed", CLAIM.notification_id),
        ("fallback", CLAIM.notification_id),
        ("planned", row["id"]),
    ]
    assert decision_changes(decision, NOW)["state"] is NotificationState.FAILED


def test_an_opt_out_with_no_channel_left_is_forgotten_and_dead() -> None:
    decision = Decision(DecisionKind.FAIL, detail="STOP", opt_out=True)

    entries, row = failure(replace(CLAIM, channel="sms"), decision, NOW)

    assert row is None
    assert [kind for kind, _, _ in entries] == ["opted_out", "dead"]
    assert decision_changes(decision, NOW)["state"] is NotificationState.DEAD
