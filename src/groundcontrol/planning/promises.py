"""Promises kept by construction: the next contact is planned to land before the case's
promise breaks, and `groundcontrol check` flags a cadence that cannot keep it.

Pure. Quiet hours come in as a function (delivery's `QuietHours.window_around`), so
planning needs no delivery import: given an instant and a customer's time zone, the
quiet window around it (opens, closes), or None when the instant is not quiet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from groundcontrol.domain import Customer, Priority
from groundcontrol.durations import format_duration
from groundcontrol.planning.golden_thread import promise_for
from groundcontrol.planning.journeys import Journeys, Rule

QuietWindow = Callable[[datetime, str | None], tuple[datetime, datetime] | None]

# A contact planned for the last moment must still get through the dispatcher in time.
SEND_MARGIN = timedelta(minutes=1)


def holding(
    quiet: QuietWindow | None, priority: Priority, customer: Customer
) -> QuietWindow | None:
    """The quiet hours that would hold this customer's message, as the dispatcher decides
    (delivery/decisions.py `quiet_deferral`): none for an urgent message, nor for a
    customer who turned them off on the case page."""
    if priority is Priority.URGENT or not customer.quiet_hours:
        return None
    return quiet


@dataclass(frozen=True)
class Kept:
    due: datetime
    reason: str = ""  # why the contact moved, for the timeline ("" when it did not)


def keep_promise(
    due: datetime,
    deadline: datetime | None,
    *,
    now: datetime,
    quiet: QuietWindow | None,
    timezone: str | None,
) -> Kept:
    """When to plan a contact meant for `due` so that it lands before `deadline`.

    Past the deadline: at the deadline (less a margin). Inside quiet hours that end
    after the deadline: the last allowed moment before they begin. Never before now."""
    if deadline is None:
        return Kept(due)
    kept = Kept(due)
    latest = deadline - SEND_MARGIN
    if due > latest:
        kept = Kept(latest, f"moved earlier: the promise breaks at {deadline.isoformat()}")
    window = quiet(kept.due, timezone) if quiet is not None else None
    if window is not None and window[1] > deadline:
        before = window[0] - SEND_MARGIN
        kept = Kept(before, "moved before quiet hours begin: they end after the promise breaks")
    if kept.due < now:
        return Kept(now, "no allowed moment keeps the promise: as soon as possible")
    return kept


@dataclass(frozen=True)
class KeptCadence:
    every: timedelta
    reason: str


def keep_cadence(every: timedelta | None, promise: timedelta) -> KeptCadence | None:
    """The repeat interval to plan so that each repetition lands before the promise breaks.

    Each follow-up sent is a contact, so the next one must come within the promise of
    it: an `every` equal to the promise would land on the deadline every time (and be
    recorded as a breach before it goes out). None when the cadence already keeps it."""
    latest = promise - SEND_MARGIN
    if every is None or every <= latest:
        return None
    return KeptCadence(
        latest,
        f"repeats every {format_duration(latest)}: the promise is {format_duration(promise)}",
    )


def cadence_problems(journeys: Journeys) -> list[str]:
    """Rules whose follow-up cadence cannot keep their promise (for `groundcontrol check`)."""
    problems = []
    for rule in journeys.rules.values():
        promise = promise_for(journeys, rule.status)
        if rule.final or promise is None:
            continue
        problems += [
            f"journey rule for status {rule.status!r}: {gap}" for gap in _gaps(rule, promise)
        ]
    return problems


def _gaps(rule: Rule, promise: timedelta) -> list[str]:
    follow_up, kept = rule.follow_up, format_duration(promise)
    if follow_up is None:
        return [f"promise {kept} but no follow_up: a case waiting here breaks it"]
    gaps = []
    if follow_up.after > promise:
        gaps.append(
            f"follow_up.after {format_duration(follow_up.after)} is longer than the promise {kept}"
        )
    if follow_up.max > 1 and follow_up.every is not None and follow_up.every > promise:
        gaps.append(
            f"follow_up.every {format_duration(follow_up.every)} is longer than the promise {kept}"
        )
    return gaps
