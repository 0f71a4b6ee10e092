"""Client address, scheme and host behind proxies: forwarding headers count only from trusted peers."""

from __future__ import annotations

import pytest

from inspector.proxies import TrustedProxies, resolve_origin

TRUSTED = TrustedProxies.parse(["10.0.0.0/8", "192.0.2.1"])


def origin(peer: str, headers: list[tuple[str, str]]) -> tuple[str | None, str, str]:
    return resolve_origin(peer=peer, scheme="http", host="inner:8000", headers=headers, trusted=TRUSTED)


def test_untrusted_peer_headers_are_ignored() -> None:
    assert origin("203.0.113.5", [("x-forwarded-for", "1.2.3.4"), ("x-forwarded-proto", "https")]) == (
        "203.0.113.5",
        "http",
        "inner:8000",
    )


def test_rightmost_untrusted_hop_is_the_client() -> None:
    # The leftmost entry is whatever the client claimed; it cannot be believed.
    headers = [("x-forwarded-for", "6.6.6.6, 198.51.100.2, 10.1.1.1"), ("x-forwarded-proto", "https")]
    assert origin("10.0.0.9", headers) == ("198.51.100.2", "https", "inner:8000")


def test_repeated_x_forwarded_for_headers_form_one_chain() -> None:
    headers = [("x-forwarded-for", "198.51.100.2"), ("x-forwarded-for", "10.1.1.1")]
    assert origin("192.0.2.1", headers)[0] == "198.51.100.2"


def test_rfc7239_forwarded() -> None:
    headers = [("forwarded", 'for=198.51.100.2;proto=https;host="hooks.example.com", for=10.0.0.3')]
    assert origin("10.0.0.1", headers) == ("198.51.100.2", "http", "inner:8000")
    headers = [("forwarded", 'for="[2001:db8::1]:443";proto=https;host=hooks.example.com')]
    assert origin("10.0.0.1", headers) == ("2001:db8::1", "https", "hooks.example.com")


def test_all_hops_trusted_gives_the_leftmost() -> None:
    assert origin("10.0.0.1", [("x-forwarded-for", "10.0.0.7, 10.0.0.8")])[0] == "10.0.0.7"


def test_parse_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not an IP"):
        TrustedProxies.parse(["10.0.0.0/8, nonsense"])
    assert "10.2.3.4" in TRUSTED and "11.0.0.1" not in TRUSTED and "not-an-ip" not in TRUSTED
