"""One-click unsubscribe end to end: the List-Unsubscribe link of a real delivered
e-mail, POSTed as a mail client does (RFC 8058), opts the customer out of e-mail; the
next message goes to the next channel."""

from __future__ import annotations

from tests.service.harness import World, customer


async def test_one_click_unsubscribe_from_a_delivered_email_moves_to_the_next_channel(
    world: World,
) -> None:
    async with world.serve() as service:
        await service.post("received", customer=customer(world.peers, "email", "sms"))
        await service.drain()
        [email] = world.peers.smtp.received
        link = str(email["List-Unsubscribe"]).strip("<>")
        path = link.removeprefix(world.settings.server.public_url)

        looked = await service.client.get(path)  # a link previewer: changes nothing
        assert looked.status == 200
        assert (await service.get_customer())["opted_out"] == []
        clicked = await service.client.post(path, data={"List-Unsubscribe": "One-Click"})

        assert clicked.status == 200
        assert (await service.get_customer())["opted_out"] == ["email"]
        await service.advance(10)  # the follow-up of "received" is due
        assert len(world.peers.smtp.received) == 1
        assert "still working" in world.peers.sms_texts()[0]
        assert await service.sent() == [("case_received", "email"), ("still_working", "sms")]
