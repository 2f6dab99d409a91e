"""The recent-notifications list (`GET /v1/notifications`, the dashboard's dead letters,
bulk re-drive): newest first by updated_at, from ix_notifications_state_updated (state,
updated_at, migration 0008) rather than a sort of every notification ever stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Dialect

from groundcontrol.domain import NotificationState
from groundcontrol.store.contract import NotificationFilter
from groundcontrol.store.sql.partitioned import insertion_order, merged_page
from groundcontrol.store.sql.schema import notifications

STATES = tuple(state.value for state in NotificationState)


def _newest_first(c: Any) -> list[Any]:
    return [c.updated_at.desc()]


def list_query(where: NotificationFilter, dialect: Dialect) -> Select[Any]:
    """One index range for a state, one per state merged without one; a case's own rows
    by ix_notifications_case. Ties come in table order on SQLite (see insertion_order),
    except for a case without a state: by state, then table order, as that index holds
    them (the statement there is the one before migration 0008)."""
    n = notifications.c
    ties = insertion_order(notifications, dialect)
    channel = [n.channel == where.channel] if where.channel is not None else []
    if where.case_id is not None:
        return _of_case(where, channel, ties)
    if where.state is None:
        return merged_page(
            notifications, n.state, STATES, channel, _newest_first, where.limit, ties
        )
    then = [ties.asc()] if ties is not None else []
    query = select(notifications).where(*channel, n.state == where.state.value)
    return query.order_by(*_newest_first(n), *then).limit(where.limit)


def _of_case(where: NotificationFilter, conditions: list[Any], ties: Any) -> Select[Any]:
    n = notifications.c
    conditions.append(n.case_id == where.case_id)
    then = []
    if where.state is not None:
        # `state || ''` is no index term: else the planner walks every notification in
        # the state by (state, updated_at) looking for the case's, not the case's few.
        conditions.append(n.state.concat("") == where.state.value)
        then = [ties.asc()] if ties is not None else []
    query = select(notifications).where(*conditions).order_by(*_newest_first(n), *then)
    return query.limit(where.limit)
