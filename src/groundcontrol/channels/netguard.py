"""The SSRF guard for outgoing webhooks: never connect to an internal address.

A customer's chat webhook URL comes from outside, so without a guard anyone who can
post an event could make Ground Control call the cloud metadata service or an admin
port on the loopback. The check runs on the address actually connected to, after
DNS resolution, so a name that resolves to a public address when the URL is stored
and to 127.0.0.1 at send time (DNS rebinding) is still refused.

Two paths lead to a socket in aiohttp and both are guarded:
- host names go through the connector's resolver: `GuardedResolver` drops forbidden
  addresses from every answer (and raises when none is left);
- IP literals skip the resolver entirely (aiohttp's `TCPConnector._resolve_host`
  returns them as they are), so `GuardedConnector.connect` checks them itself.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING

from aiohttp import TCPConnector
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from typing_extensions import override

from groundcontrol.errors import GroundControlError

if TYPE_CHECKING:
    from aiohttp import ClientRequest, ClientTimeout
    from aiohttp.connector import Connection
    from aiohttp.tracing import Trace

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenAddress(GroundControlError):
    """The webhook target is an internal address."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host = host
        self.address = address
        self.reason = reason
        if host == address:
            super().__init__(f"refused: {address} is {reason}")
        else:
            super().__init__(f"refused: {host} resolves to {address}, {reason}")


def _table(*rows: tuple[str, str]) -> tuple[tuple[ipaddress.IPv4Network, str], ...]:
    return tuple((ipaddress.IPv4Network(net), reason) for net, reason in rows)


def _table6(*rows: tuple[str, str]) -> tuple[tuple[ipaddress.IPv6Network, str], ...]:
    return tuple((ipaddress.IPv6Network(net), reason) for net, reason in rows)


_UNSPECIFIED = "an unspecified address"
_LOOPBACK = "a loopback address"
_PRIVATE = "a private address"
_LINK_LOCAL = "a link-local address"
_MULTICAST = "a multicast address"
_RESERVED = "a reserved address"

# Spelled out rather than read from ipaddress's is_private / is_global flags, whose
# tables changed between Python patch releases.
_IPV4 = _table(
    ("0.0.0.0/8", _UNSPECIFIED),  # "this network"; Linux connects 0.0.0.0 to the loopback
    ("10.0.0.0/8", _PRIVATE),
    ("100.64.0.0/10", "a carrier-grade NAT (CGNAT) address"),
    ("127.0.0.0/8", _LOOPBACK),
    ("169.254.0.0/16", _LINK_LOCAL),  # includes the cloud metadata service
    ("172.16.0.0/12", _PRIVATE),
    ("192.0.0.0/24", _RESERVED),  # IETF protocol assignments
    ("192.0.2.0/24", _RESERVED),  # documentation
    ("192.168.0.0/16", _PRIVATE),
    ("198.18.0.0/15", _RESERVED),  # benchmarking
    ("198.51.100.0/24", _RESERVED),  # documentation
    ("203.0.113.0/24", _RESERVED),  # documentation
    ("224.0.0.0/4", _MULTICAST),
    ("240.0.0.0/4", _RESERVED),  # includes the broadcast address
)

_IPV6 = _table6(
    ("::/128", _UNSPECIFIED),
    ("::1/128", _LOOPBACK),
    ("::ffff:0:0/96", "an IPv4-mapped address"),
    ("64:ff9b:1::/48", _PRIVATE),  # local-use NAT64
    ("::/8", _RESERVED),  # IPv4-compatible and other legacy forms
    ("100::/64", _RESERVED),  # discard-only
    ("2001::/32", "a Teredo tunnel address"),
    ("2001:db8::/32", _RESERVED),  # documentation
    ("fc00::/7", _PRIVATE),  # unique local
    ("fe80::/10", _LINK_LOCAL),
    ("fec0::/10", _PRIVATE),  # deprecated site-local
    ("ff00::/8", _MULTICAST),
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def is_forbidden(ip: IPAddress) -> str | None:
    """Why a webhook must not connect to `ip` ("a private address"), or None if it may."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _lookup_v4(ip)
    return _lookup_v6(ip)


def _lookup_v4(ip: ipaddress.IPv4Address) -> str | None:
    return next((reason for net, reason in _IPV4 if ip in net), None)


def _lookup_v6(ip: ipaddress.IPv6Address) -> str | None:
    # NAT64 first: its prefix lies inside the reserved ::/8.
    if ip in _NAT64:
        return _embedding("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    reason = next((reason for net, reason in _IPV6 if ip in net), None)
    if reason is None and ip.sixtofour is not None:
        return _embedding("6to4", ip.sixtofour)
    return reason


def _embedding(form: str, embedded: ipaddress.IPv4Address) -> str | None:
    inner = _lookup_v4(embedded)
    return None if inner is None else f"a {form} address embedding {embedded}, {inner}"


def check_address(host: str, address: str) -> None:
    """Raise ForbiddenAddress if `address` (an IP string, maybe with %scope) is internal."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError as exc:
        raise ForbiddenAddress(host, address, "not a canonical IP address") from exc
    reason = is_forbidden(ip)
    if reason is not None:
        raise ForbiddenAddress(host, address, reason)


def looks_like_ip_literal(host: str) -> bool:
    """The same test aiohttp uses to decide a host needs no resolving."""
    return ":" in host or host.replace(".", "").isdigit()


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's ThreadedResolver, minus every forbidden address."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or ThreadedResolver()

    @override
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        allowed = [answer for answer in answers if _allowed(answer)]
        if not allowed and answers:
            check_address(host, answers[0]["host"])  # raises with the first refusal
        return allowed

    @override
    async def close(self) -> None:
        await self._inner.close()


def _allowed(answer: ResolveResult) -> bool:
    try:
        check_address(answer["hostname"], answer["host"])
    except ForbiddenAddress:
        return False
    return True


class GuardedConnector(TCPConnector):
    """A TCPConnector that cannot open a connection to a forbidden address.

    Must be created inside the running event loop (as any TCPConnector).
    """

    def __init__(self, *, limit: int = 100) -> None:
        super().__init__(resolver=GuardedResolver(), limit=limit)

    @override
    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: ClientTimeout
    ) -> Connection:
        host = req.url.raw_host or ""
        if looks_like_ip_literal(host):
            check_address(host, host.strip("[]"))
        return await super().connect(req, traces, timeout)
