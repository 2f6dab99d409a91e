"""The reconnect backoff: doubling from the initial wait, never above the maximum."""

from __future__ import annotations

from groundcontrol.subscriptions.supervisor import Backoff


def test_backoff_doubles_up_to_the_maximum() -> None:
    backoff = Backoff(initial=0.5, maximum=30)

    assert [backoff.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(0) == 0.5
    assert backoff.delay(10_000) == 30
