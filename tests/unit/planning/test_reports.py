"""Provider reports, without a store: what `report` writes and where it falls back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from groundcontrol.domain import Customer, NotificationKind, NotificationState, Priority
from groundcontrol.planning.reports import FORWARD, Reported, report

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ADA = Customer(
    "cust-1",
    email="ada@example.com",
    phone="+31612345678",
    chat_webhook="https://chat.example.com/hook",
    channels=("sms", "email", "chat"),
)
SMS = Reported(
    id="n_1",
    case_id="C-1",
    customer_id="cust-1",
    kind=NotificationKind.STATUS,
    template="case_received",
    status="received",
    channel="sms",
    priority=Priority.NORMAL,
    tried_channels=(),
)


def test_only_a_sent_notification_moves_to_delivered_or_undelivered() -> None:
    assert set(FORWARD) == {NotificationState.DELIVERED, NotificationState.UNDELIVERED}
    assert all(allowed == ("sent",) for allowed in FORWARD.values())


def test_delivered_is_recorded_and_nothing_else_happens() -> None:
    outcome = report(SMS, ADA, NotificationState.DELIVERED, "SM1", "", NOW)

    assert outcome.fallback is None
    assert outcome.entries == [
        ("delivered", "n_1", {"channel": "sms", "provider_id": "SM1", "detail": ""})
    ]


def test_undelivered_falls_back_to_the_next_channel_linked_to_the_failed_message() -> None:
    outcome = report(SMS, ADA, NotificationState.UNDELIVERED, "SM1", "30003", NOW)

    row = outcome.fallback
    assert row is not None
    assert (row["channel"], row["previous_id"], row["tried_channels"], row["due_at"]) == (
        "email",
        "n_1",
        ["sms"],
        NOW,
    )
    assert [(kind, nid) for kind, nid, _ in outcome.entries] == [
        ("undelivered", "n_1"),
        ("fallback", "n_1"),
        ("planned", row["id"]),
    ]
    assert outcome.entries[1][2] == {"from": "sms", "to": "email", "next": row["id"]}


def test_undelivered_on_the_last_channel_leaves_the_customer_unreachable() -> None:
    tried_all = replace(SMS, channel="chat", tried_channels=("sms", "email"))

    outcome = report(tried_all, ADA, NotificationState.UNDELIVERED, "SM1", "", NOW)

    assert outcome.fallback is None
    assert [kind for kind, _, _ in outcome.entries] == ["undelivered", "unreachable"]
    assert report(SMS, None, NotificationState.UNDELIVERED, "SM1", "", NOW).fallback is None
