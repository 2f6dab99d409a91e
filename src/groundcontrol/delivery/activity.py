"""What the service says it does: one log line per accepted event, deferral, send,
failure and dead letter (logger `groundcontrol.activity`).

Lines name ids, channels, states and reasons, never an e-mail address or a phone
number: provider details are scrubbed before they are logged. Each function returns
at once when its level is off, so the hot path pays one `isEnabledFor` call.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from groundcontrol.store.contract import Claim, Decision, DecisionKind, IngestResult

log = logging.getLogger("groundcontrol.activity")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()-]{6,}\d")
_OUTBOX = "outbox:"


def scrub(text: str) -> str:
    """Provider messages may quote the address they refused: keep the words, not it."""
    return _PHONE.sub("<phone>", _EMAIL.sub("<email>", text))


def event_accepted(source: str, status: str, case_id: str, result: IngestResult) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    fields = {
        "source": source,
        "case_id": case_id,
        "status": status,
        "outcome": result.outcome,
        "event_id": result.event_id,
    }
    _info("event accepted: source=%s case=%s status=%s plan=%s", fields)


def event_duplicate(source: str, event_id: str) -> None:
    if log.isEnabledFor(logging.INFO):
        _info("duplicate event ignored: source=%s id=%s", {"source": source, "event_id": event_id})


def without_rule(source: str, status: str, case_id: str) -> None:
    if log.isEnabledFor(logging.INFO):
        fields = {"source": source, "status": status, "case_id": case_id}
        _info("no journey rule for status: source=%s status=%s case=%s (nothing sent)", fields)


def decided(claim: Claim, decision: Decision) -> None:
    """The line for what became of one claimed notification."""
    level = logging.WARNING if _is_dead(decision) else logging.INFO
    if not log.isEnabledFor(level):
        return
    fields: dict[str, Any] = {
        "notification_id": claim.notification_id,
        "case_id": claim.case.id,
        "channel": claim.channel,
        "attempt": claim.attempt,
    }
    message, extra = _describe(decision)
    args = (claim.notification_id, claim.channel, claim.case.id, *extra.values())
    fields |= extra | {"what": decision.kind.value}
    log.log(level, "notification %s (%s, case %s) " + message, *args, extra={"fields": fields})


def _describe(decision: Decision) -> tuple[str, dict[str, Any]]:
    kind, reason = decision.kind, scrub(decision.detail)
    at = decision.at.isoformat() if decision.at else None
    if kind is DecisionKind.SENT:
        return _sent(decision)
    if kind is DecisionKind.DEFER:
        return "deferred (not an attempt): %s until %s", {"reason": reason, "until": at}
    if kind is DecisionKind.RETRY:
        return "failed (transient): %s; next attempt at %s", {"reason": reason, "next": at}
    if _is_dead(decision):
        return "dead letter: %s", {"reason": reason}
    if kind is DecisionKind.FAIL:
        fields = {"reason": reason, "fallback": decision.fallback_channel}
        return "failed (permanent): %s; falling back to %s", fields
    return f"{kind.value}: %s", {"reason": reason}


def _sent(decision: Decision) -> tuple[str, dict[str, Any]]:
    provider = decision.provider_id or ""
    if provider.startswith(_OUTBOX):
        # The outbox channel's detail is the path of the file it wrote.
        outbox = decision.detail.removeprefix("written to ")
        return "sent to the outbox: %s", {"outbox_file": outbox}
    return "sent: provider id %s", {"provider_id": provider}


def _is_dead(decision: Decision) -> bool:
    return decision.kind is DecisionKind.FAIL and decision.fallback_channel is None


def _info(message: str, fields: dict[str, Any]) -> None:
    log.info(message, *list(fields.values())[: message.count("%s")], extra={"fields": fields})
