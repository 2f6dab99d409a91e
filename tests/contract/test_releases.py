"""Held messages let go early, on every engine: send-now, and quiet hours switched off."""

from __future__ import annotations

from datetime import timedelta

from tests.contract.test_store_contract import LEASE, T0, claim_one, kinds

from groundcontrol.domain import NotificationState, Priority
from groundcontrol.store.contract import Decision, DecisionKind, Store

MORNING = T0 + timedelta(hours=8)


async def test_a_quiet_hours_deferral_is_released_when_quiet_hours_are_off(store: Store) -> None:
    claim = await claim_one(store)
    quiet = Decision(DecisionKind.DEFER, detail="quiet hours", at=MORNING)
    await store.finish([(claim, quiet)], T0)
    later = T0 + timedelta(minutes=5)

    assert await store.release_quiet_deferrals(later) == 1
    [again] = await store.claim_due(later, 10, "w1", LEASE)
    assert (again.notification_id, again.attempt) == (claim.notification_id, 1)
    assert "released" in await kinds(store)
    assert await store.release_quiet_deferrals(later) == 0


async def test_a_cap_deferral_or_a_retry_is_not_released(store: Store) -> None:
    claim = await claim_one(store)
    cap = Decision(DecisionKind.DEFER, detail="frequency cap: 3 per hour", at=MORNING)
    await store.finish([(claim, cap)], T0)
    assert await store.release_quiet_deferrals(T0) == 0
    [again] = await store.claim_due(MORNING, 10, "w1", LEASE)
    retry = Decision(DecisionKind.RETRY, detail="503", at=MORNING + timedelta(hours=1))
    await store.finish([(again, retry)], MORNING)
    assert await store.release_quiet_deferrals(MORNING) == 0


async def test_send_now_makes_a_held_message_due_now_and_urgent(store: Store) -> None:
    claim = await claim_one(store)
    await store.finish([(claim, Decision(DecisionKind.DEFER, detail="x", at=MORNING))], T0)

    assert await store.send_now(claim.notification_id, T0) is True
    [again] = await store.claim_due(T0, 10, "w1", LEASE)
    assert (again.notification_id, again.priority) == (claim.notification_id, Priority.URGENT)
    assert "released" in await kinds(store)
    assert await store.send_now(claim.notification_id, T0) is False  # sending, not pending
    assert await store.send_now("no-such-id", T0) is False


async def test_attempts_and_the_attempt_log_leave_deferrals_out(store: Store) -> None:
    claim = await claim_one(store)
    await store.finish([(claim, Decision(DecisionKind.DEFER, detail="x", at=MORNING))], T0)
    [again] = await store.claim_due(MORNING, 10, "w1", LEASE)
    await store.finish([(again, Decision(DecisionKind.SENT, provider_id="SM1"))], MORNING)

    view = await store.get_notification(claim.notification_id)
    assert view is not None and view.state is NotificationState.SENT
    assert view.attempts == len(view.attempt_log) == 1
    assert [(a.number, a.outcome) for a in view.attempt_log] == [(1, "sent")]
