"""The target policy: which addresses outbound replays and forwards may reach."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")

# Cloud instance-metadata endpoints: they hand out credentials to whoever asks from inside the
# instance, which is exactly what a server-side request forgery is after. Some are not even in
# a private range (Azure's wire server is a public address), so they are named here.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task credentials
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
    )
)
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
NAT64 = ipaddress.ip_network("64:ff9b::/96")

ADVICE = "this server only delivers to public addresses (--allow-target to permit a host)"


class TargetRefused(Exception):
    """An outbound request the policy does not allow; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"refused: {reason}")
        self.reason = reason


def non_public_kind(address: IPAddress) -> str | None:
    """Why an address is unfit for a public-only server, as "a loopback address" and the like,
    or None for a public address.

    IPv6 forms that carry an IPv4 address inside (IPv4-mapped ::ffff:a.b.c.d, 6to4 2002::/16,
    NAT64 64:ff9b::/96) are judged by the IPv4 address they lead to as well: the kernel or a
    gateway would deliver them there.
    """
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None and (inner_kind := non_public_kind(inner)):
            return f"{inner_kind} (it leads to {inner})"
        if address.ipv4_mapped is not None:
            return None  # an IPv4-mapped public address is that public address
    if address in METADATA_ADDRESSES:
        return f"a {'link-local/' if address.is_link_local else ''}cloud-metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address (it reaches this machine)"
    if address.is_link_local:
        return "a link-local address"
    if address in SHARED_ADDRESS_SPACE:
        return "a shared (carrier-grade NAT) address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "a non-global address"
    return None


def _normal_host(host: str) -> str:
    """A host name as policy compares it: lowercase, no brackets, no trailing root dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def _literal(host: str) -> IPAddress | None:
    """The address a host is written as (1.2.3.4, [::1]), or None for a name."""
    try:
        return ipaddress.ip_address(_normal_host(host).split("%")[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class TargetPolicy:
    """Where outbound requests may go.

    `allow_private=True` (the default, for a server bound to loopback or a forwarder on a
    developer's machine) allows any http or https URL. With `allow_private=False` (a public
    server) loopback, private, link-local, metadata, multicast, reserved and unspecified
    addresses are refused. `allow_hosts` reopens specific targets: a host name (matched against
    the URL's host, case-insensitively), an IP address or a network in CIDR form (matched
    against the addresses the name resolves to).

    Checking is split in two because resolution is I/O: `check_url` before anything is sent,
    `check_addresses` on what DNS returned, right before connecting to exactly those addresses.
    """

    allow_private: bool = True
    allow_hosts: tuple[str, ...] = ()
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in self.allow_hosts:
            value = _normal_host(entry)
            if not value:
                raise ValueError(f"{entry!r} is not a host name, IP address or network")
            try:
                networks.append(ipaddress.ip_network(value, strict=False))
                continue
            except ValueError:
                pass
            if "/" in value or ":" in value or any(c.isspace() for c in value):
                raise ValueError(f"{entry!r} is not a host name, IP address or network")
            names.add(value)
        # Frozen for safe sharing between requests; the parsed forms are computed once here.
        object.__setattr__(self, "_names", frozenset(names))
        object.__setattr__(self, "_networks", tuple(networks))

    def host_allowed(self, host: str) -> bool:
        """True when the operator listed this host name (or this literal address) explicitly."""
        if _normal_host(host) in self._names:
            return True
        address = _literal(host)
        return address is not None and self._address_allowed(address)

    def _address_allowed(self, address: IPAddress) -> bool:
        return any(address in network for network in self._networks if network.version == address.version)

    def check_url(self, url: str) -> None:
        """Refuse a URL whose scheme is not http/https, that has no host, or whose host is a
        literal address the policy forbids. Host names are judged later, on their addresses."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError as exc:
            raise TargetRefused(f"{url!r} is not a valid URL ({exc})") from None
        if parts.scheme.lower() not in SCHEMES:
            scheme = f"{parts.scheme}:" if parts.scheme else "a URL without a scheme"
            raise TargetRefused(f"only http and https targets are allowed, not {scheme}")
        if not host:
            raise TargetRefused(f"{url!r} has no host")
        if self.allow_private or self.host_allowed(host):
            return
        address = _literal(host)
        if address is not None:
            self.check_addresses(host, [address])
        # A name: its addresses are checked after resolution, right before connecting.

    def check_addresses(self, host: str, addresses: Iterable[str | IPAddress]) -> None:
        """Refuse if any address a host resolved to is forbidden.

        Any, not all: a name that resolves to both a public and a private address is either
        misconfigured or an attack, and picking the public one would make the outcome depend
        on resolver ordering.
        """
        if self.allow_private or self.host_allowed(host):
            return
        for value in addresses:
            address = value if not isinstance(value, str) else ipaddress.ip_address(value.split("%")[0])
            if self._address_allowed(address):
                continue
            described = non_public_kind(address)
            if described is None:
                continue
            if _literal(host) == address:
                raise TargetRefused(f"{host.strip('[]')} is {described}; {ADVICE}")
            raise TargetRefused(f"{host} resolves to {address}, {described}; {ADVICE}")
