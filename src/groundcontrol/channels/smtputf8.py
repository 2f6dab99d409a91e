"""Whether e-mail can go to a mailbox whose local part is not ASCII (`用户@例子.广告`).

That takes SMTPUTF8 (RFC 6531) from the relay. `channels.email.smtputf8` decides:
`true` or `false` say so; `"auto"` (the default) follows the relay's most recent EHLO,
which the e-mail channel reads at start-up and on every new connection, and says no
while nothing is known. Ingest consults `accepted` and answers a 422 naming the field
when it is false, so such an address is never accepted and then dead; the channel
still checks the connection it sends on, and a relay that stopped offering SMTPUTF8
fails the message for good with that reason.
"""

from __future__ import annotations

import logging
from typing import Literal

log = logging.getLogger(__name__)

Smtputf8Setting = bool | Literal["auto"]


def needs_smtputf8(address: str) -> bool:
    """True for a non-ASCII local part (domains are stored as punycode)."""
    return not address.isascii()


class Smtputf8:
    """The setting, and what the SMTP server last said about SMTPUTF8."""

    def __init__(self, setting: Smtputf8Setting = "auto") -> None:
        self.setting = setting
        self._offered: bool | None = None

    @property
    def accepted(self) -> bool:
        """May an address with a non-ASCII local part be accepted now?"""
        if self.setting == "auto":
            return bool(self._offered)
        return self.setting

    @property
    def offered(self) -> bool | None:
        """What the server's last EHLO said; None before any."""
        return self._offered

    def learn(self, offered: bool) -> None:
        """Record one EHLO's answer; a change is logged, since ingest follows it."""
        if offered != self._offered:
            log.info(
                "the SMTP server %s SMTPUTF8%s",
                "offers" if offered else "does not offer",
                self._consequence(offered),
            )
        self._offered = offered

    def _consequence(self, offered: bool) -> str:
        if self.setting == "auto":
            verdict = "accepted" if offered else "refused at ingest"
            return f": addresses with a non-ASCII local part are {verdict}"
        if self.setting and not offered:
            return (
                " but channels.email.smtputf8 = true: e-mail to a non-ASCII local part "
                "will fail until it does"
            )
        return ""
