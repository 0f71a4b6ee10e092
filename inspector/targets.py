"""The target policy: which addresses outbound replays and forwards may reach."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

import idna

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


# --- parsing a target ----------------------------------------------------------------------------

# What a host name may be made of once it is ASCII: the resolver and the HTTP client agree on these.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")
# Dots that IDNA treats as label separators, as the URL parsers of browsers do.
_UNICODE_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _ipv4_number(label: str) -> int | None:
    """One part of an IPv4 address the way inet_aton and the WHATWG URL standard read it:
    0x.. is hex, a leading 0 is octal, anything else decimal; None when it is not a number."""
    if label[:2] in ("0x", "0X"):
        digits, base = label[2:], 16
    elif len(label) > 1 and label.startswith("0"):
        digits, base = label[1:], 8
    else:
        digits, base = label, 10
    if not digits:
        return 0 if base == 16 else None
    try:
        return int(digits, base) if digits.isascii() and digits.isalnum() else None
    except ValueError:
        return None


def _looks_numeric(label: str) -> bool:
    """The WHATWG "ends in a number" test for a host's last label."""
    return (label.isascii() and label.isdigit()) or (
        label[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in label[2:])
    )


def _ipv4_reading(labels: list[str]) -> ipaddress.IPv4Address | None:
    """The address a dotted host with a numeric last label stands for (127.1 is 127.0.0.1), or None."""
    if not 1 <= len(labels) <= 4:
        return None
    numbers = [_ipv4_number(label) for label in labels]
    if any(number is None for number in numbers):
        return None
    *leading, last = [number for number in numbers if number is not None]
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for n, number in enumerate(leading):
        value += number << (8 * (3 - n))
    return ipaddress.IPv4Address(value)


def wire_host(host: str) -> str:
    """The host as it goes on the wire (ASCII, IDNA for international names), or ValueError.

    A host whose last label is a number is an IPv4 address to browsers, resolvers and HTTP
    clients, but they disagree on forms other than the plain dotted quad (0177.0.0.1,
    127.000.000.001, 127.1, 2130706433, 0x7f.1, non-ASCII digits or dots). Those are refused
    with the plain form to write instead: one reading for the policy, the resolver and the
    client, and none of them can fail later on a target that was accepted.
    """
    if ":" in host:  # an IPv6 literal: urlsplit has taken off the brackets
        if "%" in host:
            raise ValueError(f"{host!r}: IPv6 zone ids (%...) cannot be used in a target")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not a valid IPv6 address") from None
        return host
    folded = unicodedata.normalize("NFKC", host).translate(_UNICODE_DOTS)
    folded = "".join(
        str(unicodedata.decimal(c)) if not c.isascii() and unicodedata.decimal(c, None) is not None else c
        for c in folded
    )
    labels = folded.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # the root dot
    if _looks_numeric(labels[-1]):
        address = _ipv4_reading(labels)
        if address is None:
            raise ValueError(f"{host!r} is not a valid IPv4 address (its last label is a number)")
        if host != str(address):
            raise ValueError(f"{host!r} is an ambiguous IPv4 form: write {address}")
        return host
    try:
        # IDNA 2008 with UTS #46 mapping, non-transitional: what httpx and browsers send, so faß.de
        # is xn--fa-hia.de (Python's own "idna" codec is IDNA 2003 and would make it fass.de).
        ascii_host = host if host.isascii() else idna.encode(host, uts46=True, transitional=False).decode()
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(f"{host!r} is not a valid international domain name ({exc})") from None
    if not _HOST_NAME.fullmatch(ascii_host.lower()):
        raise ValueError(f"{host!r} is not a valid host name")
    return ascii_host


def parse_target(url: str) -> SplitResult:
    """The parts of a target URL, or ValueError saying what is wrong with it.

    The one parser every target goes through (forward settings, replay, redirects, `inspector
    forward --to`), so that a target accepted here can always be sent to.
    """
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"the target {url!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"the target {url!r} must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError(f"the target {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("put credentials in a header (Authorization), not in the target URL")
    try:
        wire_host(parts.hostname)
    except ValueError as exc:
        raise ValueError(f"the target {url!r}: {exc}") from None
    return parts


# A URL that names its scheme: "http://...", "ftp://..." (refused later, in words).
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def expand_local_target(text: str) -> str:
    """A full target URL from the short forms of `stripe listen --forward-to` and `hookdeck listen`.

    "3000" is http://localhost:3000, ":3000/hook" is http://localhost:3000/hook, and a URL without
    a scheme ("localhost:3000/hook", "127.0.0.1:8080") is http://; a full URL stays as it is. The
    result goes through `parse_target`, so ValueError says what is wrong.
    """
    value = text.strip()
    if value.isascii() and value.isdigit():
        value = f"http://localhost:{value}"
    elif value.startswith(":"):
        value = f"http://localhost{value}"
    elif not _HAS_SCHEME.match(value):
        value = f"http://{value}"
    parse_target(value)
    return value


def netloc(parts: SplitResult) -> str:
    """host[:port] of a parsed target for the Host header and the URL, as it goes on the wire."""
    host = wire_host(parts.hostname or "")
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port is not None else host


# --- judging a target ------------------------------------------------------------------------------


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
        """Refuse a URL whose scheme is not http/https, that `parse_target` refuses, or whose
        host is a literal address the policy forbids. Host names are judged later, on their
        addresses."""
        try:
            scheme = urlsplit(url.strip()).scheme.lower()
        except ValueError:
            scheme = "http"  # parse_target below says what is wrong
        if scheme not in SCHEMES:
            said = f"{scheme}:" if scheme else "a URL without a scheme"
            raise TargetRefused(f"only http and https targets are allowed, not {said}")
        try:
            host = wire_host(parse_target(url).hostname or "")
        except ValueError as exc:
            raise TargetRefused(str(exc)) from None
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


# --- this server as a target -----------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSPECIFIED = ("0.0.0.0", "::", "")


def _reaches_this_machine(host: str) -> bool:
    """A host that always means this machine: localhost names, loopback and unspecified addresses."""
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _literal(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address is not None and (address.is_loopback or address.is_unspecified)


@dataclass(frozen=True)
class ThisServer:
    """Where this server listens and is reached, to tell a forward target that points back at it.

    Auto-forward into this server's own bins can multiply one request into many (bins forwarding
    to each other); the forward budget bounds that, and this catches the plain configurations
    before they run. Names are not resolved here (that is I/O, and may differ at delivery time):
    a name that leads back here is left to the budget.
    """

    host: str
    port: int
    public_url: str | None = None

    def reached_by(self, url: str) -> str | None:
        """Why `url` points at this server, in words, or None when it does not (as far as can be told)."""
        parts = parse_target(url)
        host = wire_host(parts.hostname or "").rstrip(".").lower()
        port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
        if self.public_url is not None:
            public = urlsplit(self.public_url)
            public_port = public.port or _DEFAULT_PORTS.get(public.scheme.lower(), 80)
            prefix = public.path.rstrip("/")
            path = parts.path or "/"
            same_place = path == prefix or path.startswith(f"{prefix}/")
            if (host, port) == (wire_host(public.hostname or "").lower(), public_port) and same_place:
                return f"its public URL is {self.public_url}"
        if port != self.port:
            return None
        listening = _normal_host(self.host)
        local = listening in _UNSPECIFIED or _reaches_this_machine(listening)
        if local and _reaches_this_machine(host):
            return f"it listens on {_bracketed(listening)}:{self.port}, which {host} reaches"
        if host == listening or (_literal(host) is not None and _literal(host) == _literal(listening)):
            return f"it listens on {_bracketed(listening)}:{self.port}"
        return None


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
