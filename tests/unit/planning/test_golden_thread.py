"""The golden thread's definitions, as pure values: open/final, contact, dark_since,
promise (per status, default) and breach (once per dark stretch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from groundcontrol.domain import NotificationKind, NotificationState
from groundcontrol.planning import golden_thread as gt
from groundcontrol.planning.journeys import Journeys, parse_journeys

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def journeys(default: str | None = "72h") -> Journeys:
    return parse_journeys(
        {
            "defaults": {"promise": default} if default else {},
            "rules": [
                {"status": "received", "template": "t"},
                {"status": "waiting", "template": "t", "promise": "24h"},
                {"status": "resolved", "template": "t", "final": True},
            ],
        }
    )


def sent(at: datetime, channel: str = "sms") -> gt.Contact:
    return gt.Contact(at, gt.ContactKind.SENT, channel, "n_1")


def test_the_promise_is_the_rules_else_the_default_else_none() -> None:
    assert gt.promise_for(journeys(), "waiting") == 24 * H
    assert gt.promise_for(journeys(), "received") == 72 * H
    assert gt.promise_for(journeys(), "no rule at all") == 72 * H
    assert gt.promise_for(journeys(default=None), "received") is None


def test_a_first_event_opens_the_case_dark_since_it_was_received() -> None:
    thread = gt.opened(journeys(), "received", T0)
    assert (thread.open, thread.opened_at, thread.dark_since) == (True, T0, T0)
    assert thread.deadline == T0 + 72 * H
    assert thread.dark_seconds(T0 + H) == 3600


def test_a_case_is_breached_only_when_dark_longer_than_its_promise() -> None:
    thread = gt.opened(journeys(), "received", T0)
    assert not thread.breached(T0 + 72 * H - timedelta(microseconds=1))
    assert thread.breached(T0 + 72 * H)
    assert not gt.opened(journeys(default=None), "received", T0).breached(T0 + 1000 * H)


def test_a_contact_ends_the_dark_stretch_and_its_breach() -> None:
    thread = gt.after_breach(gt.opened(journeys(), "received", T0), T0 + 72 * H)
    assert thread.breach_due is None, "recorded once per stretch"
    contact = sent(T0 + 80 * H)
    assert gt.closed_stretch(thread, contact) == 80 * H
    after = gt.after_contact(thread, contact)
    assert (after.dark_since, after.breached_at, after.last_contact) == (T0 + 80 * H, None, contact)
    assert after.breach_due == T0 + 152 * H, "the next stretch can breach again"


def test_an_older_contact_reported_late_changes_nothing() -> None:
    thread = gt.after_contact(gt.opened(journeys(), "received", T0), sent(T0 + 5 * H))
    assert gt.after_contact(thread, sent(T0 + 2 * H)) == thread
    assert gt.closed_stretch(thread, sent(T0 + 2 * H)) is None


def test_each_kind_of_contact_counts_the_same() -> None:
    thread = gt.opened(journeys(), "received", T0)
    for kind in gt.ContactKind:
        moved = gt.after_contact(thread, gt.Contact(T0 + H, kind))
        assert moved.dark_since == T0 + H


@pytest.mark.parametrize(
    ("kind", "state", "counts"),
    [
        (NotificationKind.STATUS, NotificationState.SENT, True),
        (NotificationKind.FOLLOW_UP, NotificationState.DELIVERED, True),
        (NotificationKind.STATUS, NotificationState.PENDING, False),
        (NotificationKind.STATUS, NotificationState.DEAD, False),
        (NotificationKind.STATUS, NotificationState.UNDELIVERED, False),
        (NotificationKind.TEST, NotificationState.SENT, False),
    ],
)
def test_which_notifications_are_contacts(
    kind: NotificationKind, state: NotificationState, counts: bool
) -> None:
    assert gt.is_contact(kind, state) is counts


def test_a_final_status_closes_the_case_and_ends_its_breach() -> None:
    thread = gt.after_breach(gt.opened(journeys(), "received", T0), T0 + 72 * H)
    closed = gt.after_status(thread, journeys(), "resolved", T0 + 90 * H)
    assert not closed.open
    assert (closed.deadline, closed.breached_at, closed.dark_seconds(T0 + 99 * H)) == (
        None,
        None,
        None,
    )
    assert not closed.breached(T0 + 1000 * H)


def test_a_non_final_status_after_final_reopens_with_a_new_dark_stretch() -> None:
    closed = gt.after_status(gt.opened(journeys(), "received", T0), journeys(), "resolved", T0)
    reopened = gt.after_status(closed, journeys(), "waiting", T0 + 500 * H)
    assert (reopened.open, reopened.opened_at, reopened.dark_since) == (
        True,
        T0 + 500 * H,
        T0 + 500 * H,
    )
    assert reopened.deadline == T0 + 524 * H


def test_a_new_status_keeps_the_stretch_but_takes_its_promise() -> None:
    thread = gt.opened(journeys(), "received", T0)
    waiting = gt.after_status(thread, journeys(), "waiting", T0 + 10 * H)
    assert (waiting.dark_since, waiting.promise, waiting.deadline) == (T0, 24 * H, T0 + 24 * H)


def test_a_closed_case_heard_from_stays_closed() -> None:
    closed = gt.opened(journeys(), "resolved", T0)
    assert not closed.open
    assert gt.closed_stretch(closed, sent(T0 + H)) is None
    assert not gt.after_contact(closed, sent(T0 + H)).open


@pytest.mark.parametrize(
    ("count", "quantile", "expected"),
    [(1, 0.5, 0), (1, 0.95, 0), (4, 0.5, 1), (100, 0.5, 49), (100, 0.95, 94), (20, 1.0, 19)],
)
def test_rank_is_the_nearest_rank(count: int, quantile: float, expected: int) -> None:
    assert gt.rank(count, quantile) == expected


def test_rank_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        gt.rank(0, 0.5)
