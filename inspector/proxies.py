"""Who sent a request, and to which scheme and host, believing proxy headers only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from inspector.models import Header

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The headers proxies add to say where a request came from and how it arrived. They describe the
# path to the server that read them; passed on to an app that trusts its loopback peer as a proxy
# they would be believed there (`inspector forward` leaves them out).
PROXY_HEADERS = frozenset(
    {"forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip"}
)


@dataclass(frozen=True)
class TrustedProxies:
    """The proxies whose forwarding headers we believe; empty means none."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, values: Iterable[str]) -> TrustedProxies:
        """Addresses or CIDR ranges, one per value or separated by commas."""
        items = [item.strip() for value in values for item in value.split(",") if item.strip()]
        try:
            return cls(tuple(ipaddress.ip_network(item, strict=False) for item in items))
        except ValueError as exc:
            raise ValueError(f"not an IP address or network: {exc}") from None

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str) or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)


def _strip_port(node: str) -> str:
    """An address from a proxy header without its port: 203.0.113.7:5000 and [2001:db8::1]:80 alike."""
    node = node.strip().strip('"')
    if node.startswith("["):
        return node[1 : node.find("]")] if "]" in node else node
    if node.count(":") == 1:
        return node.split(":", 1)[0]
    return node


def _forwarded_elements(value: str) -> list[dict[str, str]]:
    """Parse an RFC 7239 Forwarded header into one dict per hop."""
    elements = []
    for element in value.split(","):
        pairs: dict[str, str] = {}
        for pair in element.split(";"):
            name, _, raw = pair.partition("=")
            if raw:
                pairs[name.strip().lower()] = raw.strip().strip('"')
        elements.append(pairs)
    return elements


def resolve_origin(
    *,
    peer: str | None,
    scheme: str,
    host: str,
    headers: Sequence[Header],
    trusted: TrustedProxies,
) -> tuple[str | None, str, str]:
    """Return (client address, scheme, host) as the sender saw them (header names in any case).

    Proxy headers are hop lists that anyone can forge at the start, so the client is the
    nearest hop that is not one of our trusted proxies, read from the right.
    """
    if peer not in trusted:
        return peer, scheme, host
    forwarded = ", ".join(value for name, value in headers if name.lower() == "forwarded")
    if forwarded:
        hops = _forwarded_elements(forwarded)
        chain = [_strip_port(hop.get("for", "")) for hop in hops]
        nearest = hops[-1] if hops else {}
        scheme = nearest.get("proto", scheme).lower()
        host = nearest.get("host", host)
    else:
        xff = ",".join(value for name, value in headers if name.lower() == "x-forwarded-for")
        chain = [_strip_port(node) for node in xff.split(",") if node.strip()]
        proto = next((value for name, value in headers if name.lower() == "x-forwarded-proto"), None)
        forwarded_host = next((value for name, value in headers if name.lower() == "x-forwarded-host"), None)
        scheme = proto.split(",")[-1].strip().lower() if proto else scheme
        host = forwarded_host.split(",")[-1].strip() if forwarded_host else host
    client = peer
    for node in reversed(chain):
        client = node or client
        if node not in trusted:
            break
    return client, scheme, host


def scope_origin(scope: dict, trusted: TrustedProxies) -> tuple[str | None, str, str]:
    """(client address, scheme, host) of an ASGI request as its sender saw them."""
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    host = next((value for name, value in headers if name == "host"), None)
    if host is None:
        server = scope.get("server") or ("localhost", None)
        host = f"{server[0]}:{server[1]}" if server[1] else str(server[0])
    return resolve_origin(
        peer=(scope.get("client") or (None,))[0],
        scheme=scope.get("scheme", "http"),
        host=host,
        headers=headers,
        trusted=trusted,
    )


def public_base_url(scope: dict, trusted: TrustedProxies, public_url: str | None) -> str:
    """The scheme and host that users reach this server at, for building capture URLs."""
    if public_url:
        return public_url
    _, scheme, host = scope_origin(scope, trusted)
    return f"{scheme if scheme in ('http', 'https') else 'http'}://{host}"
