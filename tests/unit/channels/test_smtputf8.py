"""What `Smtputf8` says ingest may accept, by setting and by what the relay offered."""

from __future__ import annotations

import pytest

from groundcontrol.channels.smtputf8 import Smtputf8, Smtputf8Setting, needs_smtputf8


def test_auto_accepts_only_while_the_server_offers_it() -> None:
    smtputf8 = Smtputf8("auto")
    assert not smtputf8.accepted  # nothing known yet
    smtputf8.learn(True)
    assert smtputf8.accepted
    smtputf8.learn(False)
    assert not smtputf8.accepted


@pytest.mark.parametrize("setting", [True, False])
@pytest.mark.parametrize("offered", [True, False])
def test_an_explicit_setting_wins_over_what_the_server_says(
    setting: Smtputf8Setting, offered: bool
) -> None:
    smtputf8 = Smtputf8(setting)
    smtputf8.learn(offered)
    assert smtputf8.accepted is setting
    assert smtputf8.offered is offered


def test_a_change_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    smtputf8 = Smtputf8("auto")
    with caplog.at_level("INFO", logger="groundcontrol.channels.smtputf8"):
        smtputf8.learn(True)
        smtputf8.learn(True)
        smtputf8.learn(False)
    assert [r.getMessage() for r in caplog.records] == [
        "the SMTP server offers SMTPUTF8: addresses with a non-ASCII local part are accepted",
        "the SMTP server does not offer SMTPUTF8: addresses with a non-ASCII local part "
        "are refused at ingest",
    ]


@pytest.mark.parametrize(
    ("address", "needed"),
    [("ada@xn--bcher-kva.de", False), ("jörg@xn--bcher-kva.de", True), ("用户@x.cn", True)],
)
def test_only_a_non_ascii_address_needs_it(address: str, needed: bool) -> None:
    assert needs_smtputf8(address) is needed
