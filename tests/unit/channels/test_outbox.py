"""OutboxChannel: the files a channel without credentials writes instead of sending."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from groundcontrol.channels.base import OutgoingMessage
from groundcontrol.channels.chat import encode_payload
from groundcontrol.channels.mime import build_email
from groundcontrol.channels.outbox import OutboxChannel
from groundcontrol.domain import ChannelName, Customer, RenderedMessage
from groundcontrol.errors import PermanentDeliveryError
from groundcontrol.signatures import verify

NOW = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)
SENDER = "Ground Control <updates@gc.example.com>"
ADDRESSES: dict[ChannelName, str] = {
    "email": "ada@example.com",
    "sms": "+31612345678",
    "chat": "https://chat.example.com/hooks/abc",
}


def make_message(channel: ChannelName, **changes: object) -> OutgoingMessage:
    message = OutgoingMessage(
        notification_id="n-1",
        message_key="key-1",
        case_id="C-1001",
        status="received",
        customer=Customer(id="cust-42", name="Ada Lovelace"),
        channel=channel,
        address=ADDRESSES[channel],
        rendered=RenderedMessage(text="Your request was received. €", subject="Received"),
        thread_key="C-1001",
        unsubscribe_url="https://gc.example.com/v1/unsubscribe/v1.abc.def",
    )
    return replace(message, **changes)  # type: ignore[arg-type]


def outbox(channel: ChannelName, directory: Path, **kwargs: object) -> OutboxChannel:
    return OutboxChannel(channel, directory, clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def file_names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def only_file(directory: Path) -> Path:
    [path] = list(directory.iterdir())
    return path


async def test_email_is_the_exact_bytes_smtp_would_send(tmp_path: Path) -> None:
    message = make_message("email")
    receipt = await outbox("email", tmp_path, sender=SENDER).send(message)

    path = only_file(tmp_path)
    assert path.name == "20261122T100000123456Z-C-1001-n-1.eml"
    assert receipt.provider_id == f"outbox:{path.name}"
    assert path.read_bytes() == build_email(message, sender=SENDER, now=NOW).as_bytes()
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["To"] == "Ada Lovelace <ada@example.com>"
    assert parsed["Message-ID"] == "<key-1@gc.example.com>"


async def test_sms_json_carries_the_segment_count(tmp_path: Path) -> None:
    channel = outbox("sms", tmp_path, sms_from="+3197010000000")
    receipt = await channel.send(make_message("sms"))

    document = json.loads(only_file(tmp_path).read_text())
    assert document == {
        "to": "+31612345678",
        "from": "+3197010000000",
        "body": "Your request was received. €",
        # "€" is in the GSM-7 extension table: it costs two septets but stays GSM-7.
        "segments": 1,
        "encoding": "GSM-7",
        "case_id": "C-1001",
        "notification_id": "n-1",
        "message_key": "key-1",
    }
    assert receipt.segments == 1


async def test_sms_outside_gsm7_is_ucs2(tmp_path: Path) -> None:
    chinese = RenderedMessage(text="您的案件已收到 " * 12)  # 96 UTF-16 units: 2 parts of 67
    await outbox("sms", tmp_path).send(make_message("sms", rendered=chinese))
    document = json.loads(only_file(tmp_path).read_text())
    assert (document["encoding"], document["segments"]) == ("UCS-2", 2)


async def test_chat_json_is_the_signed_post(tmp_path: Path) -> None:
    key = b"chat signing key"
    message = make_message("chat")
    await outbox("chat", tmp_path, signing_key=key).send(message)

    document = json.loads(only_file(tmp_path).read_text())
    assert document["url"] == "https://chat.example.com/hooks/abc"
    assert json.loads(encode_payload(message)) == document["payload"]
    assert document["payload"]["text"] == "Your request was received. €"
    headers = document["headers"]
    assert headers["webhook-id"] == "key-1"
    assert verify(key, headers, encode_payload(message), NOW) == "key-1"


async def test_unsigned_chat_has_no_signature_headers(tmp_path: Path) -> None:
    await outbox("chat", tmp_path).send(make_message("chat"))
    headers = json.loads(only_file(tmp_path).read_text())["headers"]
    assert headers == {"Content-Type": "application/json"}


async def test_the_directory_is_created_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "outbox"
    channel = outbox("sms", directory)
    await channel.open()
    assert directory.is_dir()
    for number in range(3):
        await channel.send(make_message("sms", notification_id=f"n-{number}"))
    await channel.close()
    assert file_names(directory) == [f"20261122T100000123456Z-C-1001-n-{n}.json" for n in range(3)]


async def test_send_creates_a_missing_directory(tmp_path: Path) -> None:
    directory = tmp_path / "outbox"
    channel = outbox("chat", directory)
    await channel.send(make_message("chat"))
    assert len(file_names(directory)) == 1


@pytest.mark.parametrize(
    ("case_id", "expected"),
    [("../../etc/passwd", "_etc_passwd"), ("C 7/ü", "C_7_"), ("", "_")],
)
async def test_file_names_are_safe(tmp_path: Path, case_id: str, expected: str) -> None:
    await outbox("sms", tmp_path).send(make_message("sms", case_id=case_id))
    path = only_file(tmp_path)
    assert path.parent == tmp_path
    assert path.name == f"20261122T100000123456Z-{expected}-n-1.json"


async def test_an_unbuildable_email_is_a_permanent_failure(tmp_path: Path) -> None:
    with pytest.raises(PermanentDeliveryError, match="recipient"):
        await outbox("email", tmp_path).send(make_message("email", address="nobody"))
    assert file_names(tmp_path) == []
