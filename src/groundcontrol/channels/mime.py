"""The e-mail a notification becomes, built once and shared by the SMTP and outbox channels.

The outbox writes exactly the bytes the SMTP channel transmits: both call
`build_email` and serialise with `as_bytes()` under the message's own policy.

That policy is `SMTP` with two changes and a faster header factory. `cte_type="7bit"`
makes non-ASCII bodies quoted-printable (or base64), so the bytes are valid on any
relay, with or without 8BITMIME. `refold_source="none"` keeps headers set with
`set_raw` verbatim: the stdlib folder would otherwise turn a long `List-Unsubscribe`
URL, which has no place to fold, into RFC 2047 encoded words that mail clients do
not decode in that header.

The header factory is the stdlib's `HeaderRegistry`, remembering its work. The stdlib
makes a new header class on every lookup and parses and folds every value anew,
which was most of the cost of an e-mail (about 1.1 ms each). Most headers are the
same in every message (From, MIME-Version, Content-Type, Auto-Submitted), and a
header object is immutable, so each distinct one is parsed and folded once.
"""

from __future__ import annotations

import functools
import re
import secrets
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, parseaddr

from groundcontrol.channels.base import OutgoingMessage
from groundcontrol.channels.smtputf8 import needs_smtputf8
from groundcontrol.domain import utcnow

# Distinct header values remembered: every message's constant headers, plus its few
# unique ones (Date, Message-ID, To) of the latest messages.
_HEADER_MEMORY = 512


class _FoldedOnce(BaseHeader):
    """A stdlib header that keeps its folded form for the policy that last folded it."""

    _folded: tuple[Policy, str] | None = None

    def fold(self, *, policy: Policy) -> str:
        """The header line(s) as `BaseHeader.fold` makes them, computed once."""
        if self._folded is None or self._folded[0] is not policy:
            self._folded = (policy, super().fold(policy=policy))
        return self._folded[1]


class _RememberingHeaders(HeaderRegistry):
    """The stdlib header factory, reusing the classes and headers it already made."""

    def __init__(self) -> None:
        super().__init__(base_class=_FoldedOnce)
        self._classes: dict[str, type[BaseHeader]] = {}
        self._parsed = functools.lru_cache(maxsize=_HEADER_MEMORY)(self._parse)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]

    def __call__(self, name: str, value: object) -> BaseHeader:
        if type(value) is str:  # the hashable case; Address objects are parsed each time
            return self._parsed(name, value)
        return self._parse(name, value)

    def _parse(self, name: str, value: object) -> BaseHeader:
        return super().__call__(name, value)


POLICY = policy.SMTP.clone(
    cte_type="7bit", refold_source="none", header_factory=_RememberingHeaders()
)
# For a recipient whose local part is not ASCII, sent with SMTPUTF8: headers in raw
# UTF-8 (RFC 6532), since such an address has no encoded form; bodies stay 7-bit.
UTF8_POLICY = POLICY.clone(utf8=True)

ONE_CLICK = "List-Unsubscribe=One-Click"
NOTIFICATION_HEADER = "X-GroundControl-Notification"
TEST_HEADER = "X-GroundControl-Test"

# Characters kept as they are in the local part of a Message-ID; the rest are =XX
# escaped, so any key yields a valid msg-id and distinct keys stay distinct.
_ID_SAFE = re.compile(r"[A-Za-z0-9_-]")
_RAW_HEADER_VALUE = re.compile(r"[\x21-\x7e]+")


def build_email(
    message: OutgoingMessage,
    *,
    sender: str,
    domain: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """The MIME message for one e-mail notification.

    `domain` (default: the domain of `sender`) names the Message-ID and thread ids;
    `now` (default: the current time) is the Date header. Raises ValueError when an
    address or the unsubscribe URL cannot be put in a header.
    """
    domain = domain or sender_domain(sender)
    email = EmailMessage(policy=UTF8_POLICY if needs_smtputf8(message.address) else POLICY)
    email["Subject"] = _one_line(message.rendered.subject or "")
    email["From"] = sender
    email["To"] = _recipient(message)
    email["Date"] = format_datetime(now or utcnow())
    _set_identity(email, message, domain)
    _set_unsubscribe(email, message.unsubscribe_url)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    email[NOTIFICATION_HEADER] = message.notification_id
    if message.test:
        email[TEST_HEADER] = "yes"
    rendered = message.rendered
    email.set_content(rendered.text)
    if rendered.html is not None:
        email.make_alternative(boundary=_boundary(rendered.text, rendered.html))
        email.add_alternative(rendered.html, subtype="html")
    return email


def sender_domain(sender: str) -> str:
    """The domain of a From address such as `Ground Control <updates@example.com>`."""
    _, addr_spec = parseaddr(sender)
    _, at, domain = addr_spec.rpartition("@")
    if not at or not domain:
        raise ValueError(f"sender {sender!r} has no domain")
    return domain


def sender_address(sender: str) -> str:
    """The bare address of a From header value, for the SMTP envelope."""
    _, addr_spec = parseaddr(sender)
    if "@" not in addr_spec:
        raise ValueError(f"sender {sender!r} is not an e-mail address")
    return addr_spec


def message_id(message_key: str, domain: str) -> str:
    """The Message-ID of a notification: the same on every retry of it."""
    return f"<{_id_part(message_key)}@{domain}>"


def thread_id(thread_key: str, domain: str) -> str:
    """The id every message of one case refers to, so mail clients thread them."""
    return f"<case-{_id_part(thread_key)}@{domain}>"


def _set_identity(email: EmailMessage, message: OutgoingMessage, domain: str) -> None:
    thread = thread_id(message.thread_key, domain)
    _set_raw(email, "Message-ID", message_id(message.message_key, domain))
    _set_raw(email, "In-Reply-To", thread)
    _set_raw(email, "References", thread)


def _set_unsubscribe(email: EmailMessage, url: str | None) -> None:
    if url is None:
        return
    _set_raw(email, "List-Unsubscribe", f"<{url}>")
    email["List-Unsubscribe-Post"] = ONE_CLICK


def _set_raw(email: EmailMessage, name: str, value: str) -> None:
    # Raw headers skip the stdlib's checks, so refuse anything but one printable token:
    # no header injection through a key or URL.
    if not _RAW_HEADER_VALUE.fullmatch(value):
        raise ValueError(f"{name} value {value!r} is not printable ASCII without spaces")
    email.set_raw(name, value)


def _recipient(message: OutgoingMessage) -> Address | str:
    address = message.address
    local, at, domain = address.rpartition("@")
    if not (local and at and domain and domain.isascii()):
        raise ValueError(f"recipient {address!r} is not an e-mail address with an ASCII domain")
    name = _one_line(message.customer.name or "")
    if needs_smtputf8(address):
        return _utf8_mailbox(name, address)
    try:
        return Address(display_name=name, addr_spec=address)
    except (ValueError, HeaderParseError) as exc:
        raise ValueError(f"recipient {address!r} is not an e-mail address: {exc}") from exc


def _utf8_mailbox(name: str, address: str) -> str:
    # The stdlib's Address refuses a non-ASCII local part (it cannot be RFC 2047
    # encoded); under UTF8_POLICY the header is written as it is, so it is built here:
    # the display name always quoted, the address checked like the envelope checks it.
    if any(c.isspace() or c in '<>(),;:"[]\\' for c in address) or address.count("@") != 1:
        raise ValueError(f"recipient {address!r} is not an e-mail address")
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>' if name else f"<{address}>"


def _boundary(*bodies: str) -> str:
    # Chosen here, in the generator's format, because the generator proves its random
    # boundary absent by compiling a new regex per message. A boundary absent from the
    # text is absent from its encoded form too (quoted-printable and base64 never
    # contain "=="), and a substring test is stricter than the generator's line match.
    while True:
        boundary = f"{'=' * 15}{secrets.randbelow(10**19):019d}=="
        if not any(boundary in body for body in bodies):
            return boundary


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _id_part(key: str) -> str:
    return "".join(
        ch if _ID_SAFE.fullmatch(ch) else "".join(f"={b:02X}" for b in ch.encode()) for ch in key
    )
