"""Twilio callbacks: message status updates and inbound SMS keywords (STOP, START, HELP).

Every request must carry a valid `X-Twilio-Signature`, computed by Twilio over the
URL it called. We sit behind proxies, so that URL is rebuilt from
`server.public_url`, never from the Host header the request arrived with.
"""

from __future__ import annotations

import logging
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import RequestValidator

from groundcontrol import keys
from groundcontrol.api.problems import problem
from groundcontrol.api.storable import read_form
from groundcontrol.domain import NotificationState
from groundcontrol.links import TWILIO_INBOUND_PATH, TWILIO_STATUS_PATH
from groundcontrol.settings import Settings

log = logging.getLogger(__name__)

STATUS_PATH = TWILIO_STATUS_PATH
INBOUND_PATH = TWILIO_INBOUND_PATH
SIGNATURE_HEADER = "X-Twilio-Signature"
FORM_TYPE = "application/x-www-form-urlencoded"

# Twilio MessageStatus -> our state. queued, accepted, scheduled, sending: nothing new.
# failed after leaving us is still "never arrived": undelivered, so fallback applies.
STATUS_STATES = {
    "sent": NotificationState.SENT,
    "delivered": NotificationState.DELIVERED,
    "read": NotificationState.DELIVERED,
    "undelivered": NotificationState.UNDELIVERED,
    "failed": NotificationState.UNDELIVERED,
}

STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP", "OPTIN"})
HELP_WORDS = frozenset({"HELP", "INFO"})

XML_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>'

routes = web.RouteTableDef()


@routes.post(STATUS_PATH)
async def message_status(request: web.Request) -> web.Response:
    """Record a delivery status Twilio reports for a message we sent."""
    form = await _signed_form(request)
    if isinstance(form, web.Response):
        return form
    sid, status = form.get("MessageSid"), form.get("MessageStatus")
    if not sid or not status:
        return problem(400, detail="MessageSid and MessageStatus are required")
    state = STATUS_STATES.get(status)
    if state is not None:
        detail = _status_detail(status, form.get("ErrorCode"))
        now = request.app[keys.CLOCK]()
        await request.app[keys.STORE].record_provider_status(sid, state, detail, now)
    return web.Response(status=204)


@routes.post(INBOUND_PATH)
async def inbound_message(request: web.Request) -> web.Response:
    """Apply STOP / START keywords to every customer with the sender's number; answer HELP."""
    form = await _signed_form(request)
    if isinstance(form, web.Response):
        return form
    sender = form.get("From")
    if not sender:
        return problem(400, detail="From is required")
    word = form.get("Body", "").strip().upper()
    if word in STOP_WORDS:
        await _set_opt_out(request, sender, True, word)
        return _twiml(None)
    help_reply = request.app[keys.SETTINGS].channels.sms.help_reply
    if word in START_WORDS:
        await _set_opt_out(request, sender, False, word)
        return _twiml(help_reply)
    if word in HELP_WORDS:
        return _twiml(help_reply)
    return _twiml(None)


async def _signed_form(request: web.Request) -> MultiDictProxy[str] | web.Response:
    """The form, if Twilio signed it with our auth token; else the problem to answer."""
    settings = request.app[keys.SETTINGS]
    token = settings.channels.sms.auth_token
    if token is None:
        return problem(404, detail="SMS is not configured")
    if request.content_type != FORM_TYPE:
        return problem(415, detail=f"Twilio callbacks are {FORM_TYPE}")
    form = await read_form(request)
    fields = MultiDictProxy(_text_fields(form))
    signature = request.headers.get(SIGNATURE_HEADER, "")
    url = _public_url(settings, request)
    if not signature or not RequestValidator(token.get_secret_value()).validate(
        url, fields, signature
    ):
        log.warning("rejected Twilio callback with a bad signature for %s", url)
        return problem(403, detail=f"missing or invalid {SIGNATURE_HEADER}")
    return fields


def _text_fields(form: MultiDictProxy[Any]) -> MultiDict[str]:
    return MultiDict((key, value) for key, value in form.items() if isinstance(value, str))


def _public_url(settings: Settings, request: web.Request) -> str:
    # raw_path keeps the path and query exactly as sent, as Twilio signed them.
    return settings.server.public_url.rstrip("/") + request.raw_path


def _status_detail(status: str, error_code: str | None) -> str:
    return f"twilio {status}" + (f" (error {error_code})" if error_code else "")


async def _set_opt_out(request: web.Request, phone: str, opted_out: bool, word: str) -> None:
    store, now = request.app[keys.STORE], request.app[keys.CLOCK]()
    for customer in await store.find_customer_by_phone(phone):
        await store.set_opt_out(customer.id, "sms", opted_out, f"inbound {word}", now)


def _twiml(reply: str | None) -> web.Response:
    """TwiML answer: a reply message, or an empty <Response/> that sends nothing."""
    if reply is None:
        body = "<Response/>"
    else:
        body = f"<Response><Message>{escape(reply)}</Message></Response>"
    return web.Response(text=XML_PROLOG + body, content_type="application/xml")
