"""The customer's own choices: channel order and quiet hours survive the back office."""

from __future__ import annotations

from groundcontrol.domain import Customer, CustomerPatch

ADA = Customer(id="cust-1", email="a@example.com", phone="+31612345678", channels=("sms", "email"))


def test_preferred_channels_follow_the_customers_order_then_the_back_offices() -> None:
    assert ADA.preferred_channels == ("sms", "email")
    chosen = Customer(id="c", channels=("sms", "email", "chat"), channel_order=("chat",))
    assert chosen.preferred_channels == ("chat", "sms", "email")


def test_an_inline_update_from_an_event_keeps_the_customers_choices() -> None:
    chosen = Customer(
        id="cust-1",
        channels=("sms", "email"),
        opted_out=frozenset({"sms"}),
        channel_order=("email", "sms"),
        quiet_hours=False,
    )
    patched = CustomerPatch("cust-1", {"channels": ["sms", "email"], "name": "Ada"}).apply(chosen)
    assert (patched.channel_order, patched.quiet_hours) == (("email", "sms"), False)
    assert patched.opted_out == {"sms"}
    assert patched.name == "Ada"


def test_a_whole_customer_from_the_back_office_keeps_the_customers_choices() -> None:
    chosen = Customer(id="cust-1", channel_order=("email",), quiet_hours=False)
    replaced = ADA.keeping_choices_of(chosen)
    assert (replaced.channel_order, replaced.quiet_hours, replaced.email) == (
        ("email",),
        False,
        "a@example.com",
    )


def test_a_new_customer_has_quiet_hours_and_no_order_of_their_own() -> None:
    fresh = CustomerPatch("cust-9", {"channels": ["email"]}).apply(None)
    assert (fresh.channel_order, fresh.quiet_hours) == ((), True)
