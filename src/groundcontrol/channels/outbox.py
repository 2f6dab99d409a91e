"""The outbox: a channel without credentials writes what it would send to a folder.

A new user sees exactly what a customer would get: `.eml` files holding the bytes
the SMTP channel would transmit, and `.json` files describing the SMS or the chat
webhook POST (its signature, when a signing key is given, covers the compact JSON
bytes the chat channel would post). Files appear atomically (written aside, then
renamed), so a reader never sees half of one.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from groundcontrol.channels.base import OutgoingMessage, Receipt
from groundcontrol.channels.mime import build_email
from groundcontrol.domain import ChannelName, Clock, utcnow
from groundcontrol.errors import PermanentDeliveryError
from groundcontrol.signatures import signed_headers

DEFAULT_SENDER = "Ground Control <updates@groundcontrol.local>"

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_MAX_NAME_PART = 64


class OutboxChannel:
    """A `Channel` for any channel name that writes files instead of sending."""

    def __init__(
        self,
        name: ChannelName,
        directory: Path,
        *,
        sender: str = DEFAULT_SENDER,
        sms_from: str | None = None,
        signing_key: bytes | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.name: ChannelName = name
        self.directory = directory
        self._sender = sender
        self._sms_from = sms_from
        self._signing_key = signing_key
        self._clock = clock

    async def open(self) -> None:
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        """Nothing to release: every send closes its file."""

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Write the message's file; the receipt names it."""
        now = self._clock()
        suffix, content, segments = self._render(message, now)
        filename = _filename(message, now, suffix)
        await asyncio.to_thread(_write_atomically, self.directory / filename, content)
        return Receipt(
            provider_id=f"outbox:{filename}",
            detail=f"written to {self.directory / filename}",
            segments=segments,
        )

    def _render(self, message: OutgoingMessage, now: datetime) -> tuple[str, bytes, int | None]:
        if self.name == "email":
            return ".eml", self._email(message, now), None
        if self.name == "sms":
            document = self._sms(message)
            return ".json", _json_bytes(document), document["segments"]
        return ".json", _json_bytes(self._chat(message, now)), None

    def _email(self, message: OutgoingMessage, now: datetime) -> bytes:
        try:
            email = build_email(message, sender=self._sender, now=now)
        except ValueError as exc:
            raise PermanentDeliveryError(f"cannot build the e-mail: {exc}") from exc
        return email.as_bytes()

    def _sms(self, message: OutgoingMessage) -> dict[str, Any]:
        # Imported here: the SMS machinery is only needed when an SMS is written.
        from groundcontrol.channels.segments import count_segments

        info = count_segments(message.rendered.text)
        return {
            "to": message.address,
            "from": self._sms_from,
            "body": message.rendered.text,
            "segments": info.segments,
            "encoding": info.encoding,
            "case_id": message.case_id,
            "notification_id": message.notification_id,
            "message_key": message.message_key,
        }

    def _chat(self, message: OutgoingMessage, now: datetime) -> dict[str, Any]:
        from groundcontrol.channels.chat import build_payload, encode_payload

        headers = {"Content-Type": "application/json"}
        if self._signing_key is not None:
            # Signed over the compact bytes the chat channel posts, not this pretty copy.
            body = encode_payload(message)
            headers |= signed_headers(self._signing_key, message.message_key, now, body)
        return {"url": message.address, "headers": headers, "payload": build_payload(message)}


def _filename(message: OutgoingMessage, now: datetime, suffix: str) -> str:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{_safe(message.case_id)}-{_safe(message.notification_id)}{suffix}"


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part)[:_MAX_NAME_PART] or "_"


def _json_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n"


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file sits in the same directory, so the rename is atomic.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
