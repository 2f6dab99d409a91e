"""The public links we hand out, under server.public_url (with or without a slash)."""

from __future__ import annotations

import pytest

from groundcontrol.links import status_callback_url, unsubscribe_url


@pytest.mark.parametrize(
    "public_url", ["https://gc.example.com/base", "https://gc.example.com/base/"]
)
def test_links_sit_under_the_public_url(public_url: str) -> None:
    assert (
        unsubscribe_url(public_url, "v1.abc") == "https://gc.example.com/base/v1/unsubscribe/v1.abc"
    )
    assert (
        status_callback_url(public_url) == "https://gc.example.com/base/v1/callbacks/twilio/status"
    )
