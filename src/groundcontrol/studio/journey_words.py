"""The journeys file in plain words: what each message is called and when it is sent.

"case_received" reads "Case received", sent "When a case becomes received"; a
follow-up reads "While a case stays received: after 48 h of silence, then every
72 h, at most 3 times". The catalogue and the journey map both speak these sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from groundcontrol.domain import Priority
from groundcontrol.planning.journeys import Journeys, Rule

NOT_SENT = "Not sent by any journey rule"


@dataclass(frozen=True)
class Use:
    """One way the journeys send a message: on a status, or as its follow-up."""

    status: str
    follow_up: bool
    text: str


def title(template: str) -> str:
    """A message's human name: "case_received" -> "Case received"."""
    words = template.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() if words else template


def status_words(status: str) -> str:
    """ "in_progress" -> "in progress": the status as a sentence says it."""
    return status.replace("_", " ")


def duration(span: timedelta) -> str:
    """ "48 h", "30 s", "15 min", "1 h 30 min", "7 days": as a planner would say it."""
    seconds = int(span.total_seconds())
    if seconds % 86400 == 0 and seconds > 3 * 86400:
        days = seconds // 86400
        return f"{days} days"
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    parts = [f"{hours} h"] if hours else []
    return " ".join([*parts, f"{minutes} min"] if minutes else parts)


def on_status(rule: Rule) -> str:
    """ "When a case becomes received", with what changes the moment it goes out."""
    text = f"When a case becomes {status_words(rule.status)}"
    if rule.priority in (Priority.HIGH, Priority.URGENT):
        text += f" ({rule.priority.name.lower()} priority)"
    if rule.coalesce:
        text += f"; changes within {duration(rule.coalesce)} make one message"
    return text


def cadence(rule: Rule) -> str:
    """ "after 48 h of silence, then every 72 h, at most 3 times"."""
    follow = rule.follow_up
    if follow is None:
        return ""
    first = f"after {duration(follow.after)} of silence"
    if follow.every is None or follow.max <= 1:
        return f"{first}, once"
    return f"{first}, then every {duration(follow.every)}, at most {follow.max} times"


def uses(journeys: Journeys, template: str) -> list[Use]:
    """Every rule that sends `template`, in the journeys file's order."""
    found = []
    for rule in journeys.rules.values():
        follow = rule.follow_up
        if rule.template == template:
            text = on_status(rule)
            if follow is not None and follow.template == template:
                text += f"; again {cadence(rule)}"
            found.append(Use(rule.status, False, text))
        elif follow is not None and follow.template == template:
            stays = f"While a case stays {status_words(rule.status)}: {cadence(rule)}"
            found.append(Use(rule.status, True, stays))
    return found


def when_sent(journeys: Journeys, template: str) -> list[str]:
    """The sentences saying when `template` goes out; NOT_SENT when no rule sends it."""
    return [use.text for use in uses(journeys, template)] or [NOT_SENT]


def journey_order(journeys: Journeys, templates: list[str]) -> list[str]:
    """`templates` as a journey reads: each status's message, then its follow-up;
    messages no rule sends come last, by name."""
    ordered: list[str] = []
    for rule in journeys.rules.values():
        for name in (rule.template, rule.follow_up.template if rule.follow_up else None):
            if name in templates and name not in ordered:
                ordered.append(name)
    return ordered + sorted(set(templates) - set(ordered))
