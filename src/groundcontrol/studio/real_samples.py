"""Recent real cases as preview samples, with the customer's personal fields masked.

Marketers preview against what customers really get, not only the hand-written
samples; they never see who the customer is. Case data is kept as sent by the
workflow system (it is what the template renders), so workflow systems should not
put personal data in `data`: docs/studio.md says so.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from groundcontrol.domain import Customer
from groundcontrol.planning.journeys import Journeys
from groundcontrol.store.templates import RecentCase, TemplateStore
from groundcontrol.templates.context import Sample

MASK = "•••"
RECENT_LIMIT = 3


def statuses_using(journeys: Journeys, template: str) -> set[str]:
    """The statuses whose rule sends `template`, directly or as its follow-up."""
    return {
        rule.status
        for rule in journeys.rules.values()
        if rule.template == template
        or (rule.follow_up is not None and rule.follow_up.template == template)
    }


async def recent_samples(
    store: TemplateStore, journeys: Journeys, template: str, limit: int = RECENT_LIMIT
) -> list[Sample]:
    recent = await store.recent_cases(statuses_using(journeys, template), limit)
    return [as_sample(number, case) for number, case in enumerate(recent, start=1)]


def as_sample(number: int, recent: RecentCase) -> Sample:
    case = recent.case
    return Sample(
        name=f"recent {number}: {case.status}, case {mask_text(case.id)}",
        customer=mask_customer(recent.customer),
        case=case,
        event=dict(recent.event),
        now=case.status_at,
        unsubscribe_url="https://example.invalid/v1/unsubscribe/masked",
    )


def mask_customer(customer: Customer) -> Customer:
    return replace(
        customer,
        id=mask_text(customer.id),
        name=mask_name(customer.name),
        email=mask_email(customer.email),
        phone=mask_phone(customer.phone),
        chat_webhook=mask_url(customer.chat_webhook),
    )


def mask_text(value: str) -> str:
    """Keep the first character so samples stay distinguishable: "C-1001" -> "C•••"."""
    return f"{value[:1]}{MASK}" if value else value


def mask_name(name: str | None) -> str | None:
    """ "Ada Lovelace" -> "Ada L•••": the first name is what templates greet with."""
    if not name:
        return name
    first, *rest = name.split()
    return " ".join([first, *(mask_text(part) for part in rest)])


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email and mask_text(email)
    local, domain = email.rsplit("@", 1)
    return f"{mask_text(local)}@{domain}"


def mask_phone(phone: str | None) -> str | None:
    """Country code and the last two digits stay: "+31612345678" -> "+31•••78"."""
    if not phone or len(phone) < 6:
        return phone and MASK
    return f"{phone[:3]}{MASK}{phone[-2:]}"


def mask_url(url: str | None) -> str | None:
    if not url:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/{MASK}"
