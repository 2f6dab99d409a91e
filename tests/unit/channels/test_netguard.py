from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from groundcontrol.channels.netguard import (
    ForbiddenAddress,
    GuardedResolver,
    check_address,
    is_forbidden,
    looks_like_ip_literal,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("0.0.0.0", "an unspecified address"),
        ("0.1.2.3", "an unspecified address"),
        ("10.0.0.5", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.255", "a private address"),
        ("192.168.1.1", "a private address"),
        ("100.64.1.1", "a carrier-grade NAT (CGNAT) address"),
        ("100.127.255.254", "a carrier-grade NAT (CGNAT) address"),
        ("127.0.0.1", "a loopback address"),
        ("127.255.0.9", "a loopback address"),
        ("169.254.169.254", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a reserved address"),
        ("192.0.0.8", "a reserved address"),
        ("192.0.2.1", "a reserved address"),
        ("198.18.0.1", "a reserved address"),
        ("198.51.100.7", "a reserved address"),
        ("203.0.113.9", "a reserved address"),
        ("::", "an unspecified address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "an IPv4-mapped address"),
        ("::ffff:93.184.216.34", "an IPv4-mapped address"),
        ("::127.0.0.1", "a reserved address"),
        ("64:ff9b::7f00:1", "a NAT64 address embedding 127.0.0.1, a loopback address"),
        ("64:ff9b::a9fe:a9fe", "a NAT64 address embedding 169.254.169.254, a link-local address"),
        ("64:ff9b:1::1", "a private address"),
        ("2002:a00:5::1", "a 6to4 address embedding 10.0.0.5, a private address"),
        ("2002:7f00:1::", "a 6to4 address embedding 127.0.0.1, a loopback address"),
        ("2001::1", "a Teredo tunnel address"),
        ("2001:db8::1", "a reserved address"),
        ("100::1", "a reserved address"),
        ("fc00::1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("fe80::1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("fec0::1", "a private address"),
        ("ff02::1", "a multicast address"),
    ],
)
def test_internal_addresses_are_forbidden_with_their_class(address: str, reason: str) -> None:
    assert is_forbidden(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "1.1.1.1",
        "8.8.8.8",
        "100.63.255.255",  # just below CGNAT
        "100.128.0.0",  # just above CGNAT
        "172.15.255.255",  # just below 172.16/12
        "172.32.0.0",  # just above 172.16/12
        "169.253.255.255",
        "223.255.255.255",  # just below multicast
        "2606:4700:4700::1111",
        "2a00:1450:4001::200e",
        "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
        "2002:5db8:d822::1",  # 6to4 of 93.184.216.34
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_forbidden(ipaddress.ip_address(address)) is None


def test_refusal_of_a_literal_names_the_address_and_its_class() -> None:
    with pytest.raises(ForbiddenAddress) as caught:
        check_address("10.0.0.5", "10.0.0.5")

    assert str(caught.value) == "refused: 10.0.0.5 is a private address"
    assert (caught.value.host, caught.value.address) == ("10.0.0.5", "10.0.0.5")


def test_refusal_of_a_name_says_what_it_resolved_to() -> None:
    with pytest.raises(ForbiddenAddress, match=r"^refused: metadata\.internal resolves to 169"):
        check_address("metadata.internal", "169.254.169.254")


def test_an_address_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ForbiddenAddress, match="not a canonical IP address"):
        check_address("127.1", "127.1")


def test_public_address_passes() -> None:
    check_address("example.com", "93.184.216.34")


@pytest.mark.parametrize(
    ("host", "literal"),
    [
        ("127.0.0.1", True),
        ("2130706433", True),
        ("::1", True),
        ("[::ffff:10.0.0.1]", True),
        ("example.com", False),
        ("0x7f.0.0.1", False),  # goes to the resolver, which sees 127.0.0.1
        ("localhost", False),
    ],
)
def test_ip_literal_detection_matches_aiohttp(host: str, literal: bool) -> None:
    assert looks_like_ip_literal(host) is literal


class ScriptedResolver(AbstractResolver):
    """Answers each resolve() with the next list of addresses (a DNS that rebinds)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [_result(host, address, port) for address in self.answers.pop(0)]

    async def close(self) -> None:
        self.closed = True


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(hostname=host, host=address, port=port, family=family, proto=0, flags=0)


async def test_resolver_drops_forbidden_addresses_and_keeps_public_ones() -> None:
    resolver = GuardedResolver(ScriptedResolver(["10.0.0.5", "93.184.216.34", "::1"]))

    answers = await resolver.resolve("hooks.example.com", 443)

    assert [answer["host"] for answer in answers] == ["93.184.216.34"]


async def test_resolver_refuses_a_name_with_only_forbidden_addresses() -> None:
    resolver = GuardedResolver(ScriptedResolver(["127.0.0.1", "::1"]))

    with pytest.raises(ForbiddenAddress) as caught:
        await resolver.resolve("localhost", 80)

    assert str(caught.value) == "refused: localhost resolves to 127.0.0.1, a loopback address"


async def test_resolver_checks_every_lookup_so_rebinding_is_caught() -> None:
    resolver = GuardedResolver(ScriptedResolver(["93.184.216.34"], ["169.254.169.254"]))

    assert await resolver.resolve("rebind.example", 80)
    with pytest.raises(ForbiddenAddress, match="link-local"):
        await resolver.resolve("rebind.example", 80)


async def test_resolver_passes_an_empty_answer_through() -> None:
    assert await GuardedResolver(ScriptedResolver([])).resolve("empty.example", 80) == []


async def test_resolver_close_closes_the_inner_resolver() -> None:
    inner = ScriptedResolver()

    await GuardedResolver(inner).close()

    assert inner.closed
