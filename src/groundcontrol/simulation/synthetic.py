"""A plausible back office, made up from a seed: cases that arrive around the clock, are
worked in office hours on weekdays, wait on customers, stall, and get resolved.

Customers live in several time zones and speak several languages, prefer different
channel mixes, and a few cannot be reached (no address, or addresses under `.invalid`
that bounce). A few events carry a status no journey knows (`escalated`), as real
histories do. The same seed and size give the same history, line for line.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
OFFICE = ZoneInfo("Europe/Amsterdam")  # the back office works in its own zone
OPENS, CLOSES = time(8, 30), time(17, 30)

# (time zone, locale, mobile number prefix and digits after it, weight)
REGIONS = (
    ("Europe/Amsterdam", "nl-NL", ("+3161", 7), 40),
    ("Europe/Brussels", "nl-BE", ("+3247", 7), 10),
    ("Europe/Paris", "fr-FR", ("+3361", 7), 15),
    ("Europe/London", "en-GB", ("+44790", 7), 15),
    ("America/New_York", "en-US", None, 10),
    ("Asia/Singapore", "en-SG", None, 5),
    ("Europe/Berlin", "de-DE", ("+49151", 8), 5),
)
# Channel preference orders and how often customers choose them.
CHANNEL_MIXES = (
    (("email",), 30),
    (("sms", "email"), 25),
    (("email", "sms"), 20),
    (("chat", "email"), 10),
    (("sms",), 10),
    (("chat", "sms", "email"), 5),
)
TITLES = ("Address change", "Insurance claim", "Phone activation", "Refund", "Move contract")
UNREACHABLE_SHARE = 0.03  # every address bounces
SILENT_SHARE = 0.01  # no address at all


@dataclass(frozen=True)
class Shape:
    """How big a back office to make."""

    cases: int
    days: int
    seed: int = 0
    start: datetime = DEFAULT_START


def generate(shape: Shape) -> list[dict[str, Any]]:
    """Event bodies (with their `source`), sorted by `occurred_at`."""
    rng = random.Random(shape.seed)
    end = shape.start + timedelta(days=shape.days)
    events: list[dict[str, Any]] = []
    customers: list[dict[str, Any]] = []
    for number in range(shape.cases):
        customer = _returning(rng, customers) or _customer(rng, len(customers))
        customers.append(customer)
        opened = shape.start + timedelta(
            seconds=rng.uniform(0, (end - shape.start).total_seconds())
        )
        events += _case(rng, number, customer, opened, end)
    events.sort(key=lambda e: e["occurred_at"])
    for index, event in enumerate(events):
        event["id"] = f"syn-{index:07d}"
    return events


def _returning(rng: random.Random, known: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One case in ten is from a customer who already has one (a new case's first
    event carries the whole customer, as a back office sends it)."""
    if known and rng.random() < 0.1:
        return rng.choice(known)
    return None


def _customer(rng: random.Random, number: int) -> dict[str, Any]:
    zone, locale, mobile, _ = _weighted(rng, [(r, r[3]) for r in REGIONS])
    channels = list(_weighted(rng, list(CHANNEL_MIXES)))
    customer_id = f"cust-{number:06d}"
    body: dict[str, Any] = {
        "id": customer_id,
        "name": f"Customer {number}",
        "locale": locale,
        "timezone": zone,
        "channels": channels,
    }
    roll = rng.random()
    if roll < SILENT_SHARE:
        return body
    domain = "bounce.invalid" if roll < SILENT_SHARE + UNREACHABLE_SHARE else "example.com"
    body["email"] = f"{customer_id}@{domain}"
    body["chat_webhook"] = f"https://chat.{domain}/hooks/{customer_id}"
    if mobile is not None and domain == "example.com":
        prefix, digits = mobile
        body["phone"] = prefix + f"{rng.randrange(10**digits):0{digits}d}"
    return body


def _case(
    rng: random.Random, number: int, customer: dict[str, Any], opened: datetime, end: datetime
) -> list[dict[str, Any]]:
    case_id = f"C-{number:06d}"
    data = {"case_title": rng.choice(TITLES)}
    events = [_event(case_id, "received", opened, customer, data)]
    for status, at in _flow(rng, opened):
        if at >= end:
            break
        events.append(_event(case_id, status, at, {"id": customer["id"]}, data))
    return events


def _flow(rng: random.Random, opened: datetime) -> Iterator[tuple[str, datetime]]:
    """The statuses after `received`, each at office time after a realistic wait."""
    at = _office(rng, opened + _wait(rng, hours=20))
    yield "in_progress", at
    if rng.random() < 0.05:
        at = _office(rng, at + _wait(rng, hours=4))
        yield "escalated", at  # no journey rule: recorded, sends nothing
    if rng.random() < 0.3:
        # Often set right after the previous change, inside its coalescing window.
        at += timedelta(seconds=rng.uniform(5, 60)) if rng.random() < 0.3 else _wait(rng, hours=6)
        yield "waiting_on_customer", _office(rng, at)
        at = _office(rng, at + _wait(rng, hours=40))
        yield "in_progress", at
    if rng.random() < 0.1:
        return  # stalls: nobody touches it again
    yield "resolved", _office(rng, at + _wait(rng, hours=60))


def _wait(rng: random.Random, *, hours: float) -> timedelta:
    """A log-normal wait with median `hours`: mostly near it, sometimes much longer."""
    return timedelta(hours=hours * math.exp(rng.gauss(0.0, 0.8)))


def _office(rng: random.Random, at: datetime) -> datetime:
    """`at`, or the next moment the back office is at work (weekdays, office hours)."""
    local = at.astimezone(OFFICE)
    while local.weekday() >= 5 or not OPENS <= local.time() < CLOSES:
        if local.weekday() < 5 and local.time() < OPENS:
            local = local.replace(hour=OPENS.hour, minute=OPENS.minute)
        else:
            local = (local + timedelta(days=1)).replace(hour=OPENS.hour, minute=OPENS.minute)
        local += timedelta(minutes=rng.uniform(0, 90))
    return local.astimezone(UTC)


def _event(
    case_id: str, status: str, at: datetime, customer: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "source": "synthetic",
        "id": "",
        "case_id": case_id,
        "status": status,
        "occurred_at": at.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "customer": customer,
        "data": data,
    }


def _weighted(rng: random.Random, choices: list[tuple[Any, int]]) -> Any:
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights=weights)[0]
