"""The target policy: what a public server refuses to reach, checked on the URL, after DNS, on redirects."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from conftest import Recorded, RecordingTarget, Reply, closed_at_end
from test_replay import make_captured

from inspector.replay import build_outbound, deliver, make_client
from inspector.targets import TargetPolicy, TargetRefused, ThisServer, netloc, parse_target

PUBLIC = TargetPolicy(allow_private=False)
ADVICE = "this server only delivers to public addresses (--allow-target to permit a host)"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:3000/hook", "127.0.0.1 is a loopback address"),
        ("http://127.8.9.10/", "127.8.9.10 is a loopback address"),
        ("http://[::1]:3000/", "::1 is a loopback address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://192.168.1.20/", "192.168.1.20 is a private address"),
        ("http://172.16.0.1/", "172.16.0.1 is a private address"),
        ("http://[fd12::1]/", "fd12::1 is a private address"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local/cloud-metadata address",
        ),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud-metadata address"),
        ("http://169.254.1.1/", "169.254.1.1 is a link-local address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback address (it leads to 127.0.0.1)"),
        (
            "http://[::ffff:169.254.169.254]/",
            "is a link-local/cloud-metadata address (it leads to 169.254.169.254)",
        ),
        ("http://[2002:a00:1::]/", "is a private address (it leads to 10.0.0.1)"),
        ("http://0.0.0.0:3000/", "0.0.0.0 is an unspecified address (it reaches this machine)"),
        ("http://[::]/", ":: is an unspecified address"),
        ("http://100.64.0.1/", "100.64.0.1 is a shared (carrier-grade NAT) address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://240.0.0.1/", "240.0.0.1 is a private address"),
    ],
)
def test_public_mode_refuses_literal_addresses(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        PUBLIC.check_url(url)
    assert reason in refused.value.reason
    assert str(refused.value) == f"refused: {refused.value.reason}"
    assert refused.value.reason.endswith(ADVICE)


def test_the_metadata_message_in_full() -> None:
    with pytest.raises(TargetRefused) as refused:
        PUBLIC.check_url("http://169.254.169.254/latest/meta-data/iam/")
    assert str(refused.value) == (
        "refused: 169.254.169.254 is a link-local/cloud-metadata address; "
        "this server only delivers to public addresses (--allow-target to permit a host)"
    )


@pytest.mark.parametrize("url", ["http://8.8.8.8/", "https://[2606:4700::1111]/", "http://[::ffff:8.8.8.8]/"])
def test_public_mode_allows_public_addresses(url: str) -> None:
    PUBLIC.check_url(url)


def test_names_are_judged_on_their_addresses() -> None:
    PUBLIC.check_url("http://localhost:3000/")  # a name: nothing to judge before resolution
    with pytest.raises(TargetRefused, match=r"localhost resolves to 127\.0\.0\.1, a loopback address"):
        PUBLIC.check_addresses("localhost", ["127.0.0.1"])
    # One bad address among good ones is enough to refuse: the answer could be either.
    with pytest.raises(TargetRefused, match=r"resolves to 10\.0\.0\.5"):
        PUBLIC.check_addresses("mixed.test", ["8.8.8.8", "10.0.0.5"])
    PUBLIC.check_addresses("public.test", ["8.8.8.8", "2606:4700::1111"])


@pytest.mark.parametrize("url", ["ftp://a.test/", "file:///etc/passwd", "gopher://127.0.0.1/", "//a.test/"])
@pytest.mark.parametrize("policy", [PUBLIC, TargetPolicy()])
def test_only_http_and_https(policy: TargetPolicy, url: str) -> None:
    with pytest.raises(TargetRefused, match="only http and https"):
        policy.check_url(url)


def test_default_mode_allows_loopback_and_private() -> None:
    policy = TargetPolicy()
    for url in ["http://127.0.0.1:3000/", "http://[::1]/", "http://10.0.0.1/", "http://169.254.169.254/"]:
        policy.check_url(url)
    policy.check_addresses("localhost", ["127.0.0.1", "::1"])


def test_allow_list_reopens_hosts() -> None:
    policy = TargetPolicy(allow_private=False, allow_hosts=("127.0.0.1", "Internal.Example.", "10.20.0.0/16"))
    policy.check_url("http://127.0.0.1:3000/")
    policy.check_url("http://internal.example/")
    policy.check_addresses("internal.example", ["10.9.9.9"])  # the name is allowed, whatever it resolves to
    policy.check_addresses("app.test", ["10.20.3.4"])  # an address in an allowed network
    policy.check_addresses("localhost", ["127.0.0.1"])  # an allowed address, whatever the name
    with pytest.raises(TargetRefused):
        policy.check_addresses("app.test", ["10.21.0.1"])
    with pytest.raises(TargetRefused):
        policy.check_url("http://127.0.0.2/")
    with pytest.raises(TargetRefused):
        policy.check_url("http://169.254.169.254/")


@pytest.mark.parametrize("entry", ["", "a b", "10.0.0.0/99", "http://x/"])
def test_bad_allow_list_entries(entry: str) -> None:
    with pytest.raises(ValueError, match="not a host name, IP address or network"):
        TargetPolicy(allow_private=False, allow_hosts=(entry,))


# Spellings of an IPv4 address that resolvers, HTTP clients and browsers read differently (or
# that the HTTP client cannot parse at all): each is refused with the plain form to write.
AMBIGUOUS = [
    ("http://0177.0.0.1:9/x", "'0177.0.0.1' is an ambiguous IPv4 form: write 127.0.0.1"),
    ("http://127.000.000.001/", "ambiguous IPv4 form: write 127.0.0.1"),
    ("http://\u2460\u2461\u2466.\u24ea.\u24ea.\u2460/", "ambiguous IPv4 form: write 127.0.0.1"),  # circled
    ("http://2130706433/", "ambiguous IPv4 form: write 127.0.0.1"),
    ("http://0x7f.1/", "ambiguous IPv4 form: write 127.0.0.1"),
    ("http://0X7F.0.0.1/", "ambiguous IPv4 form: write 127.0.0.1"),
    ("http://127.1/", "ambiguous IPv4 form: write 127.0.0.1"),
    ("http://10.1.1/", "ambiguous IPv4 form: write 10.1.0.1"),
    ("http://0/", "ambiguous IPv4 form: write 0.0.0.0"),
    ("http://127.0.0.1./", "ambiguous IPv4 form: write 127.0.0.1"),
    ("http://\u0661\u0662\u0667.0.0.1/", "ambiguous IPv4 form: write 127.0.0.1"),  # Arabic-Indic digits
    ("http://\uff11\uff12\uff17.0.0.1/", "ambiguous IPv4 form: write 127.0.0.1"),  # fullwidth digits
    ("http://127\uff0e0\uff0e0\uff0e1/", "ambiguous IPv4 form: write 127.0.0.1"),  # fullwidth dots
    ("http://127\u30020\u30020\u30021/", "ambiguous IPv4 form: write 127.0.0.1"),  # ideographic dots
    ("http://999.1.1.1/", "not a valid IPv4 address"),
    ("http://1.2.3.4.5/", "not a valid IPv4 address"),
    ("http://example.123/", "not a valid IPv4 address"),
    ("http://exa%20mple.com/", "not a valid host name"),
    ("http://[fe80::1%25eth0]/", "zone ids"),
]


@pytest.mark.parametrize(("url", "reason"), AMBIGUOUS)
@pytest.mark.parametrize("policy", [PUBLIC, TargetPolicy()])
def test_ambiguous_host_forms_are_refused_in_words(policy: TargetPolicy, url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^the target '.*': ") as parsed:
        parse_target(url)
    assert reason in str(parsed.value)
    with pytest.raises(TargetRefused) as refused:
        policy.check_url(url)
    assert reason in refused.value.reason
    with pytest.raises(ValueError, match=re.escape(reason)):
        build_outbound(make_captured(), url)


@pytest.mark.parametrize(
    ("url", "wire"),
    [
        ("http://127.0.0.1:3000/hook", "127.0.0.1:3000"),
        ("http://8.8.8.8/", "8.8.8.8"),
        ("http://Example.COM./x", "example.com."),
        ("http://123.example.com/", "123.example.com"),
        ("http://0x.example/", "0x.example"),
        ("http://my_service:8080/", "my_service:8080"),
        ("http://[::1]:3000/", "[::1]:3000"),
        ("https://[2606:4700::1111]/", "[2606:4700::1111]"),
        ("http://[::ffff:127.0.0.1]/", "[::ffff:127.0.0.1]"),
        ("http://b\u00fccher.example/", "xn--bcher-kva.example"),
        ("http://\u4f8b\u3048.\u30c6\u30b9\u30c8/", "xn--r8jz45g.xn--zckzah"),
        ("http://xn--r8jz45g.xn--zckzah/", "xn--r8jz45g.xn--zckzah"),
        # IDNA 2008: ß and ς are letters of their own, not fass.de as IDNA 2003 would have it.
        ("https://fa\u00df.de/", "xn--fa-hia.de"),
        ("https://\u03c3\u03bf\u03c6\u03cc\u03c2.gr:8443/", "xn--0xagbn4a.gr:8443"),
        ("http://FA\u00df.DE/", "xn--fa-hia.de"),
    ],
)
def test_plain_addresses_names_ipv6_and_idns_pass(url: str, wire: str) -> None:
    assert netloc(parse_target(url)) == wire
    TargetPolicy().check_url(url)
    assert build_outbound(make_captured(), url).url.startswith(f"{url.split(':')[0]}://{wire}/")


@pytest.mark.parametrize(
    "host", ["fa\u00df.de", "b\u00fccher.example", "\u03c3\u03bf\u03c6\u03cc\u03c2.gr", "\u4f8b\u3048.jp"]
)
def test_international_names_match_what_httpx_sends(host: str) -> None:
    """The Host header and the name resolved are the ones httpx itself would use for the URL."""
    url = f"http://{host}/"
    assert netloc(parse_target(url)) == httpx.URL(url).raw_host.decode("ascii")


def test_names_idna_2008_forbids_are_refused() -> None:
    with pytest.raises(ValueError, match="not a valid international domain name"):
        parse_target("http://\u2603.net/")


@pytest.mark.parametrize(
    ("server", "url", "why"),
    [
        (ThisServer("127.0.0.1", 8000), "http://127.0.0.1:8000/b/x", "it listens on 127.0.0.1:8000"),
        (ThisServer("127.0.0.1", 8000), "http://localhost:8000/b/x", "which localhost reaches"),
        (ThisServer("127.0.0.1", 8000), "http://[::1]:8000/", "which ::1 reaches"),
        (ThisServer("127.0.0.1", 8000), "http://[::ffff:127.0.0.1]:8000/", "reaches"),
        (ThisServer("127.0.0.1", 8000), "http://0.0.0.0:8000/", "reaches"),
        (ThisServer("0.0.0.0", 80), "http://app.localhost/", "listens on 0.0.0.0:80"),
        (ThisServer("::", 8000), "http://127.0.0.1:8000/", "listens on [::]:8000"),
        (ThisServer("192.0.2.7", 8000), "http://192.0.2.7:8000/b/x", "it listens on 192.0.2.7:8000"),
        (
            ThisServer("0.0.0.0", 8000, "https://hooks.example.com"),
            "https://HOOKS.example.com:443/b/abc",
            "its public URL is https://hooks.example.com",
        ),
        (
            ThisServer("0.0.0.0", 8000, "https://example.com/inspector"),
            "https://example.com/inspector/b/abc",
            "its public URL",
        ),
    ],
)
def test_targets_that_point_at_this_server_are_told(server: ThisServer, url: str, why: str) -> None:
    reason = server.reached_by(url)
    assert reason is not None and why in reason


@pytest.mark.parametrize(
    ("server", "url"),
    [
        (ThisServer("127.0.0.1", 8000), "http://127.0.0.1:3000/hook"),  # the developer's app
        (ThisServer("127.0.0.1", 8000), "http://example.com:8000/"),
        (ThisServer("192.0.2.7", 8000), "http://127.0.0.1:8000/"),  # loopback cannot reach 192.0.2.7
        (ThisServer("0.0.0.0", 8000, "https://hooks.example.com"), "http://hooks.example.com/"),  # port 80
        (ThisServer("0.0.0.0", 8000, "https://example.com/inspector"), "https://example.com/shop/hook"),
    ],
)
def test_other_targets_are_not_this_server(server: ThisServer, url: str) -> None:
    assert server.reached_by(url) is None


# --- over the network ------------------------------------------------------------------------------


@pytest.fixture
def recording_target() -> Iterator[Callable[..., RecordingTarget]]:
    yield from closed_at_end()


async def test_public_mode_refuses_before_connecting(
    recording_target: Callable[..., RecordingTarget],
) -> None:
    recording = recording_target()
    port = recording.port
    for url in [
        recording.url,
        f"http://localhost:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
    ]:
        result = await deliver(build_outbound(make_captured(), url), policy=PUBLIC, timeout=5)
        assert result.error is not None and result.error.startswith("refused by target policy: "), (
            result.error
        )
        assert result.error_kind == "refused" and result.status is None
    assert recording.connections == 0 and recording.requests == []


async def test_localhost_is_refused_after_resolution(
    recording_target: Callable[..., RecordingTarget],
) -> None:
    recording = recording_target()
    result = await deliver(
        build_outbound(make_captured(), f"http://localhost:{recording.port}/"), policy=PUBLIC, timeout=5
    )
    # /etc/hosts may list ::1 first; either way it is loopback.
    assert result.error is not None and result.error.startswith(
        "refused by target policy: localhost resolves to "
    )
    assert result.error.endswith(f", a loopback address; {ADVICE}")
    assert recording.connections == 0


async def test_dns_rebinding_is_checked_where_the_connection_is_made(
    recording_target: Callable[..., RecordingTarget],
) -> None:
    """A name that passed every earlier look (it is not an address) but resolves to loopback when
    the connection is made is refused then: the check and the connection use the same answer."""
    recording = recording_target()
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    async with make_client(PUBLIC, resolver=rebinding) as client:
        outbound = build_outbound(make_captured(), f"http://rebind.test:{recording.port}/")
        result = await deliver(outbound, policy=PUBLIC, timeout=5, client=client)
    assert lookups == ["rebind.test"]
    assert (
        result.error is not None and "rebind.test resolves to 127.0.0.1, a loopback address" in result.error
    )
    assert recording.connections == 0


async def test_allow_list_reopens_a_host_over_the_network(
    recording_target: Callable[..., RecordingTarget],
) -> None:
    recording = recording_target()
    policy = TargetPolicy(allow_private=False, allow_hosts=("127.0.0.1",))
    result = await deliver(build_outbound(make_captured(), f"{recording.url}/hook"), policy=policy, timeout=5)
    assert result.status == 200 and result.error is None
    assert len(recording.wait_for(1)) == 1


def redirect_to(location: str) -> Callable[[Recorded], Reply]:
    return lambda recorded: (302, [("Location", location)], b"")


@pytest.mark.parametrize(
    ("allowed", "first_host", "location", "reason"),
    [
        (
            "127.0.0.1",
            "127.0.0.1",
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local/cloud-metadata address",
        ),
        ("127.0.0.1", "127.0.0.1", "http://[::ffff:169.254.169.254]/latest/", "it leads to 169.254.169.254"),
        ("127.0.0.1", "127.0.0.1", "http://10.0.0.1:8080/admin", "10.0.0.1 is a private address"),
        ("127.0.0.1", "127.0.0.1", "http://127.0.0.2:{port}/second", "127.0.0.2 is a loopback address"),
        ("127.0.0.1", "127.0.0.1", "http://[::1]:{port}/second", "::1 is a loopback address"),
        # The name is allowed, the address it happens to have is not: a literal needs its own entry.
        ("localhost", "localhost", "http://127.0.0.1:{port}/second", "127.0.0.1 is a loopback address"),
    ],
)
async def test_redirect_to_a_private_address_is_refused(
    recording_target: Callable[..., RecordingTarget],
    allowed: str,
    first_host: str,
    location: str,
    reason: str,
) -> None:
    """The first hop is allowed through the allow-list (the test target lives on loopback); the
    hop it redirects to is checked again and refused before any connection is made."""
    second = recording_target()
    first = recording_target(redirect_to(location.format(port=second.port)))
    policy = TargetPolicy(allow_private=False, allow_hosts=(allowed,))
    started = time.monotonic()
    outbound = build_outbound(make_captured(), f"http://{first_host}:{first.port}/hook")
    result = await deliver(outbound, policy=policy, timeout=5, follow_redirects=True)
    assert result.error is not None and result.error.startswith("refused by target policy: "), result.error
    assert reason in result.error
    assert [r.status for r in result.redirects] == [302]
    assert result.status is None
    assert len(first.wait_for(1)) == 1
    assert second.connections == 0
    assert time.monotonic() - started < 5


async def test_redirect_not_followed_is_not_checked(recording_target: Callable[..., RecordingTarget]) -> None:
    recording = recording_target(redirect_to("http://169.254.169.254/"))
    policy = TargetPolicy(allow_private=False, allow_hosts=("127.0.0.1",))
    result = await deliver(build_outbound(make_captured(), recording.url), policy=policy, timeout=5)
    assert result.status == 302 and result.error is None


async def test_default_mode_delivers_to_loopback(recording_target: Callable[..., RecordingTarget]) -> None:
    recording = recording_target()
    for url in [recording.url, f"http://localhost:{recording.port}/"]:
        result = await deliver(build_outbound(make_captured(), url), policy=TargetPolicy(), timeout=5)
        assert result.status == 200, result.error
    assert len(recording.wait_for(2)) == 2
