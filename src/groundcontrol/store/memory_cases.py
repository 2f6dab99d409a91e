"""The golden-thread reads over cases held in memory (the memory store; the simulator
can use the same): the meaning of every filter, order and figure the SQL reads answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from groundcontrol.domain import CaseState
from groundcontrol.planning.golden_thread import rank
from groundcontrol.store.case_views import (
    Breach,
    CaseCursor,
    CaseFilter,
    CasePage,
    CaseView,
    DarkFigures,
    GoldenThreadSummary,
    GroupFigures,
)


def case_view(case: CaseState) -> CaseView | None:
    if case.thread is None:
        return None
    return CaseView(case.id, case.customer_id, case.status, case.source, case.thread)


def _key(view: CaseView) -> tuple[datetime, str]:
    return (view.thread.dark_since, view.case_id)


def _matches(view: CaseView, where: CaseFilter, now: datetime) -> bool:
    thread = view.thread
    checks = (
        where.open is None or thread.open is where.open,
        where.breached is None or thread.breached(now) is where.breached,
        where.status is None or view.status == where.status,
        where.source is None or view.source == where.source,
        where.dark_longer_than is None
        or (thread.open and thread.dark_since < now - where.dark_longer_than),
    )
    return all(checks)


def _after(view: CaseView, where: CaseFilter) -> bool:
    if where.after is None:
        return True
    position = (where.after.dark_since, where.after.case_id)
    return _key(view) > position if where.order.ascending else _key(view) < position


def list_cases(cases: Iterable[CaseState], where: CaseFilter, now: datetime) -> CasePage:
    views = [v for v in map(case_view, cases) if v is not None]
    chosen = [v for v in views if _matches(v, where, now) and _after(v, where)]
    chosen.sort(key=_key, reverse=not where.order.ascending)
    items = chosen[: where.limit]
    more = len(chosen) > where.limit
    last = items[-1] if items and more else None
    return CasePage(items, CaseCursor(*_key(last)) if last else None)


def _dark(views: Sequence[CaseView], quantile: float, now: datetime) -> float | None:
    if not views:
        return None
    seconds = sorted(v.thread.dark_seconds(now) or 0.0 for v in views)
    return seconds[rank(len(seconds), quantile)]


def _groups(
    views: Sequence[CaseView], key: Callable[[CaseView], str | None], now: datetime
) -> dict[str, GroupFigures]:
    grouped: dict[str, list[CaseView]] = {}
    for view in views:
        grouped.setdefault(key(view) or "", []).append(view)
    return {
        name: GroupFigures(
            len(members), sum(v.thread.breached(now) for v in members), _dark(members, 0.95, now)
        )
        for name, members in grouped.items()
    }


def summary(
    cases: Iterable[CaseState], breaches: Iterable[Breach], now: datetime, window: timedelta
) -> GoldenThreadSummary:
    views = [v for v in map(case_view, cases) if v is not None and v.thread.open]
    return GoldenThreadSummary(
        open_cases=len(views),
        breached_now=sum(v.thread.breached(now) for v in views),
        dark_seconds=DarkFigures(
            _dark(views, 0.5, now), _dark(views, 0.95, now), _dark(views, 1.0, now)
        ),
        breaches_in_window=sum(1 for b in breaches if b.deadline >= now - window),
        by_status=_groups(views, lambda v: v.status, now),
        by_source=_groups(views, lambda v: v.source, now),
    )


def due_breaches(cases: Iterable[CaseState], now: datetime, limit: int) -> list[CaseState]:
    due = [(when, c) for c in cases if (when := _breach_due(c)) is not None and when <= now]
    due.sort(key=lambda item: item[0])
    return [case for _, case in due[:limit]]


def _breach_due(case: CaseState) -> datetime | None:
    return case.thread.breach_due if case.thread else None
