"""The preferences form, parsed without a server: what is offered, what may come back."""

from __future__ import annotations

import pytest

from groundcontrol.casepage.preferences import (
    BadForm,
    Preferences,
    current,
    offered_channels,
    opt_changes,
    parse_form,
)
from groundcontrol.domain import ChannelName, Customer

ADA = Customer(
    id="cust-1",
    email="ada@example.com",
    phone="+31612345678",
    channels=("email", "sms", "chat"),  # no chat address: not offered
    opted_out=frozenset({"sms"}),
)
OFFERED: tuple[ChannelName, ...] = ("email", "sms")


def test_the_page_offers_reachable_channels_in_the_customers_order() -> None:
    assert offered_channels(ADA) == ("email", "sms")
    assert offered_channels(Customer(id="x", email="a@b.c", channels=("email",))) == ("email",)
    reordered = Customer(
        id="x", email="a@b.c", phone="+3161", channels=("email", "sms"), channel_order=("sms",)
    )
    assert offered_channels(reordered) == ("sms", "email")


def test_current_preferences_tick_what_is_not_opted_out() -> None:
    assert current(ADA) == Preferences(frozenset({"email"}), ("email", "sms"), quiet_hours=True)


def test_a_posted_form_becomes_preferences() -> None:
    form = {"channels": ["sms"], "order": ["sms", "email"], "quiet_hours": ["on"]}
    assert parse_form(form, OFFERED) == Preferences(frozenset({"sms"}), ("sms", "email"), True)


def test_nothing_ticked_means_no_channel_and_no_quiet_hours() -> None:
    assert parse_form({}, OFFERED) == Preferences(frozenset(), ("email", "sms"), False)


def test_a_channel_picked_twice_counts_at_its_first_rank_and_the_rest_follow() -> None:
    assert parse_form({"order": ["sms", "sms"]}, OFFERED).order == ("sms", "email")


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"channels": ["chat"]}, "channels"),
        ({"channels": ["email"] * 5}, "channels"),
        ({"order": ["pigeon"]}, "order"),
        ({"quiet_hours": ["yes"]}, "quiet_hours"),
        ({"quiet_hours": ["on", "on"]}, "quiet_hours"),
    ],
)
def test_anything_the_page_did_not_offer_is_refused_naming_the_field(
    form: dict[str, list[str]], field: str
) -> None:
    with pytest.raises(BadForm) as caught:
        parse_form(form, OFFERED)
    assert caught.value.field == field


def test_only_changed_checkboxes_become_opt_changes() -> None:
    before = current(ADA)  # email wanted, sms opted out
    after = Preferences(frozenset({"sms"}), ("email", "sms"), True)
    assert opt_changes(before, after) == [("email", True), ("sms", False)]
    assert opt_changes(before, before) == []
