"""Translate between table rows and domain values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import RowMapping

from groundcontrol.domain import (
    CaseState,
    ChannelName,
    Customer,
    NotificationKind,
    NotificationState,
    Priority,
    as_utc,
)
from groundcontrol.store.contract import AttemptView, NotificationView, TimelineEntry
from groundcontrol.store.sql.thread_rows import to_thread


def customer_values(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "chat_webhook": customer.chat_webhook,
        "locale": customer.locale,
        "timezone": customer.timezone,
        "channels": list(customer.channels),
        "opted_out": sorted(customer.opted_out),
        "channel_order": list(customer.channel_order),
        "quiet_hours": customer.quiet_hours,
    }


def to_customer(row: Mapping[Any, Any], prefix: str = "") -> Customer:
    def get(name: str) -> Any:
        return row[prefix + name]

    return Customer(
        id=get("id"),
        name=get("name"),
        email=get("email"),
        phone=get("phone"),
        chat_webhook=get("chat_webhook"),
        locale=get("locale"),
        timezone=get("timezone"),
        channels=tuple(cast(list[ChannelName], get("channels") or [])),
        opted_out=frozenset(cast(list[ChannelName], get("opted_out") or [])),
        channel_order=tuple(cast(list[ChannelName], get("channel_order") or [])),
        quiet_hours=bool(get("quiet_hours")),
    )


def to_case(row: Mapping[Any, Any], prefix: str = "") -> CaseState:
    def get(name: str) -> Any:
        return row[prefix + name]

    last = get("last_message_at")
    return CaseState(
        id=get("id"),
        customer_id=get("customer_id"),
        status=get("status"),
        previous_status=get("previous_status"),
        status_at=as_utc(get("status_at")),
        sequence=get("sequence"),
        priority=Priority(get("priority")),
        data=get("data") or {},
        last_message_at=as_utc(last) if last else None,
        source=row.get(prefix + "source"),
        thread=to_thread(row, prefix),
    )


def optional_utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def to_attempt(row: RowMapping) -> AttemptView:
    return AttemptView(
        number=row["number"],
        started_at=as_utc(row["started_at"]),
        finished_at=optional_utc(row["finished_at"]),
        outcome=row["outcome"],
        detail=row["detail"],
        provider_id=row["provider_id"],
    )


def to_notification(row: RowMapping, log: tuple[AttemptView, ...] = ()) -> NotificationView:
    return NotificationView(
        id=row["id"],
        case_id=row["case_id"],
        customer_id=row["customer_id"],
        kind=NotificationKind(row["kind"]),
        template=row["template"],
        status=row["status"],
        channel=row["channel"],
        state=NotificationState(row["state"]),
        priority=Priority(row["priority"]),
        attempts=row["attempts"],
        due_at=as_utc(row["due_at"]),
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
        message_key=row["message_key"],
        previous_id=row["previous_id"],
        provider_id=row["provider_id"],
        segments=row["segments"],
        last_error=row["last_error"],
        attempt_log=log,
    )


def to_timeline(row: RowMapping) -> TimelineEntry:
    return TimelineEntry(
        at=as_utc(row["at"]),
        kind=row["kind"],
        case_id=row["case_id"],
        notification_id=row["notification_id"],
        detail=row["detail"] or {},
    )
