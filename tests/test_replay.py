"""Replay over real HTTP: captured by a real server, sent to a real target that records the exact bytes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from conftest import HANG, Recorded, RecordingTarget, Reply, ServerProcess, free_port, send_raw

from inspector.forwarder import captured_from_json
from inspector.models import CapturedRequest
from inspector.replay import (
    MAX_REDIRECTS,
    Outbound,
    Overrides,
    Redirect,
    build_outbound,
    confined_path,
    deliver,
)
from inspector.targets import TargetPolicy

ANYWHERE = TargetPolicy(allow_private=True)


# --- capturing through a real server --------------------------------------------------------------


def capture(server: ServerProcess, bin_id: str, request: bytes) -> CapturedRequest:
    """Send raw bytes to a bin and read the request back from the API, as the replay endpoint will."""
    response = send_raw(server.url, request)
    assert response.startswith(b"HTTP/1.1 200"), response
    head = response.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    request_id = next(
        line.split(":")[1].strip() for line in head.split("\r\n") if "x-inspector-request-id" in line
    )
    full = httpx.get(f"{server.url}/api/bins/{bin_id}/requests/{request_id}", timeout=10)
    assert full.status_code == 200, full.text
    return captured_from_json(full.content)


def raw_request(
    server: ServerProcess, bin_id: str, path: str, headers: list[tuple[str, str]], body: bytes
) -> bytes:
    lines = [f"POST /b/{bin_id}{path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


JSON_BODY = '{"ref": "refs/heads/main", "amount": 1.50, "big": 12345678901234567890, "name": "café"}'.encode()
BODIES = {
    "json": ("application/json", JSON_BODY, None),
    "form": ("application/x-www-form-urlencoded", b"a=1&b=%20x+y&a=2&empty=&caf%C3%A9=%E2%82%AC", None),
    "binary": ("application/octet-stream", bytes(range(256)) * 3 + b"\x00\xff\x00\r\n\r\n", None),
    "gzip": ("application/json", gzip.compress(JSON_BODY * 50, mtime=0), "gzip"),
}


@pytest.mark.parametrize("kind", list(BODIES))
async def test_byte_exact_replay(
    server: ServerProcess, bin_id: str, target: RecordingTarget, kind: str
) -> None:
    content_type, body, encoding = BODIES[kind]
    sent_headers = [
        ("X-Dup", "first"),
        ("Content-Type", content_type),
        ("Connection", "keep-alive, X-Hop-Secret"),
        ("X-Hop-Secret", "only for the first hop"),
        ("Keep-Alive", "timeout=5"),
        ("X-Other", "1"),
        ("Proxy-Authorization", "Basic eDp5"),
        ("TE", "trailers"),
        ("X-Dup", "second"),
        *([("Content-Encoding", encoding)] if encoding else []),
        ("User-Agent", "GitHub-Hookshot/044aadd"),
        ("X-Dup", "third"),
    ]
    captured = capture(
        server, bin_id, raw_request(server, bin_id, "/github/push?b=2&a=1&a=3", sent_headers, body)
    )
    assert captured.body == body

    outbound = build_outbound(captured, f"{target.url}/hook")
    result = await deliver(outbound, policy=ANYWHERE, timeout=10)

    assert result.error is None and result.status == 200 and result.ok
    [received] = target.wait_for(1)
    assert received.request_line == b"POST /hook/github/push?b=2&a=1&a=3 HTTP/1.1"
    # As sent (names in their case), in order, nothing added; Host and Content-Length for the target.
    assert received.header_list() == [
        ("Host", f"127.0.0.1:{target.port}"),
        ("X-Dup", "first"),
        ("Content-Type", content_type),
        ("X-Other", "1"),
        ("X-Dup", "second"),
        *([("Content-Encoding", encoding)] if encoding else []),
        ("User-Agent", "GitHub-Hookshot/044aadd"),
        ("X-Dup", "third"),
        ("Content-Length", str(len(body))),
    ]
    assert received.body == body
    assert result.request_headers == received.header_list()
    assert result.request_body_size == len(body)
    assert result.request_body_sha256 == hashlib.sha256(body).hexdigest() == captured.body_sha256


async def test_overrides_are_applied(server: ServerProcess, bin_id: str, target: RecordingTarget) -> None:
    headers = [("X-Dup", "a"), ("X-Other", "1"), ("X-Dup", "b"), ("Content-Type", "application/json")]
    captured = capture(server, bin_id, raw_request(server, bin_id, "/orig?keep=no", headers, b'{"a": 1}'))
    overrides = Overrides(
        method="PUT",
        path_suffix="/edited/path",
        query="x=1&x=2",
        remove_headers=["X-Other"],
        set_headers=[("X-Dup", "only"), ("X-New", "added"), ("content-type", "text/plain")],
        body=b"new \x00 body",
    )
    result = await deliver(
        build_outbound(captured, f"{target.url}/base/", overrides), policy=ANYWHERE, timeout=10
    )
    assert result.status == 200, result.error
    [received] = target.wait_for(1)
    assert received.request_line == b"PUT /base/edited/path?x=1&x=2 HTTP/1.1"
    # Host and Content-Length are spelt as the sender spelt its own.
    assert received.header_list() == [
        ("Host", f"127.0.0.1:{target.port}"),
        ("X-Dup", "only"),
        ("content-type", "text/plain"),
        ("Content-Length", "10"),
        ("X-New", "added"),
    ]
    assert received.body == b"new \x00 body"


async def test_whole_header_list_replaced_and_empty_body(target: RecordingTarget) -> None:
    captured = make_captured(headers=[("x-a", "1")], body=b"was here")
    overrides = Overrides(method="GET", headers=[("X-Only", "this"), ("Host", "ignored")], body=b"")
    result = await deliver(build_outbound(captured, target.url, overrides), policy=ANYWHERE, timeout=10)
    assert result.status == 200, result.error
    [received] = target.wait_for(1)
    assert received.request_line == b"GET /sub?q=1 HTTP/1.1"
    # A GET without a body and without framing headers gets no Content-Length.
    assert received.header_list() == [("Host", f"127.0.0.1:{target.port}"), ("X-Only", "this")]
    assert received.body == b""


async def test_response_is_reported(recording_target: Callable[..., RecordingTarget]) -> None:
    answer = bytes(range(256))
    recording = recording_target(
        lambda r: (201, [("X-Reply", "a"), ("Set-Cookie", "s=1"), ("X-Reply", "b")], answer)
    )
    outbound = build_outbound(make_captured(), recording.url)
    result = await deliver(outbound, policy=ANYWHERE, timeout=10)
    assert (result.status, result.reason, result.http_version) == (201, "Whatever", "HTTP/1.1")
    assert result.response_headers == [
        ("X-Reply", "a"),
        ("Set-Cookie", "s=1"),
        ("X-Reply", "b"),
        ("Content-Length", "256"),
    ]
    assert result.response_body == answer and not result.response_body_truncated
    assert 0 < result.duration_ms < 10_000
    assert result.ok

    capped = await deliver(outbound, policy=ANYWHERE, timeout=10, body_limit=100)
    assert capped.response_body == answer[:100] and capped.response_body_truncated


async def test_closed_port_is_reported_in_plain_words() -> None:
    port = free_port()  # bound, then released: nothing listens there
    started = time.monotonic()
    result = await deliver(
        build_outbound(make_captured(), f"http://127.0.0.1:{port}/hook"), policy=ANYWHERE, timeout=5
    )
    assert result.error == f"connection refused by 127.0.0.1:{port}"
    assert result.error_kind == "connect"
    assert result.status is None and not result.ok
    assert time.monotonic() - started < 5


async def test_hanging_target_times_out(recording_target: Callable[..., RecordingTarget]) -> None:
    recording = recording_target(lambda r: HANG)
    started = time.monotonic()
    result = await deliver(build_outbound(make_captured(), recording.url), policy=ANYWHERE, timeout=0.5)
    elapsed = time.monotonic() - started
    assert result.error == "timed out after 0.5 s waiting for a response"
    assert result.error_kind == "timeout" and result.status is None
    assert 0.4 < elapsed < 2.5
    assert len(recording.wait_for(1)) == 1  # it did get the request


async def test_a_body_that_never_ends_times_out(recording_target: Callable[..., RecordingTarget]) -> None:
    # Headers promise 1000 bytes, 7 come, then nothing: the whole exchange is bounded.
    recording = recording_target(lambda r: (200, [("Content-Length", "1000")], b"partial"))
    started = time.monotonic()
    result = await deliver(build_outbound(make_captured(), recording.url), policy=ANYWHERE, timeout=0.5)
    assert result.error == "timed out after 0.5 s reading the response body"
    assert result.status == 200 and result.response_body == b"partial"
    assert time.monotonic() - started < 2.5


async def test_tls_failure_is_reported(target: RecordingTarget) -> None:
    # The target speaks plain HTTP; asking for https makes the handshake fail.
    url = f"https://127.0.0.1:{target.port}/hook"
    result = await deliver(build_outbound(make_captured(), url), policy=ANYWHERE, timeout=5)
    assert result.error is not None and result.error.startswith("TLS handshake failed"), result.error
    assert result.error_kind == "tls"


async def test_dns_failure_is_reported() -> None:
    from inspector.replay import make_client

    async def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # A resolver of the test's own: a real lookup of an unknown name would leave this machine.
    async with make_client(ANYWHERE, resolver=no_such_host) as client:
        outbound = build_outbound(make_captured(), "http://hooks.unknown.test:3000/")
        result = await deliver(outbound, policy=ANYWHERE, timeout=5, client=client)
    assert result.error == "DNS lookup failed for host hooks.unknown.test (Name or service not known)"
    assert result.error_kind == "dns"


def redirecting(status: int) -> Callable[[Recorded], Reply]:
    def respond(recorded: Recorded) -> Reply:
        if recorded.target.startswith("/hook"):
            return status, [("Location", "/moved?x=1")], b"see elsewhere"
        return 200, [], b"arrived"

    return respond


async def test_redirects_not_followed_unless_asked(recording_target: Callable[..., RecordingTarget]) -> None:
    recording = recording_target(redirecting(302))
    outbound = build_outbound(make_captured(body=b'{"a": 1}'), f"{recording.url}/hook")

    result = await deliver(outbound, policy=ANYWHERE, timeout=5)
    assert result.status == 302 and result.redirects == [] and result.response_body == b"see elsewhere"
    assert len(recording.wait_for(1)) == 1

    followed = await deliver(outbound, policy=ANYWHERE, timeout=5, follow_redirects=True)
    assert followed.status == 200 and followed.response_body == b"arrived"
    assert followed.redirects == [
        Redirect(status=302, url=f"{recording.url}/hook/sub?q=1", location=f"{recording.url}/moved?x=1")
    ]
    second = recording.wait_for(3)[2]
    # As browsers do: a POST answered with 302 is repeated as a GET without its body.
    assert second.request_line == b"GET /moved?x=1 HTTP/1.1"
    assert second.body == b"" and not any(k.lower() == b"content-type" for k, _ in second.headers)
    assert followed.method == "GET" and followed.url == f"{recording.url}/moved?x=1"


async def test_307_keeps_method_and_body(recording_target: Callable[..., RecordingTarget]) -> None:
    recording = recording_target(redirecting(307))
    outbound = build_outbound(make_captured(body=b"\x00payload"), f"{recording.url}/hook")
    result = await deliver(outbound, policy=ANYWHERE, timeout=5, follow_redirects=True)
    assert result.status == 200
    second = recording.wait_for(2)[1]
    assert second.request_line == b"POST /moved?x=1 HTTP/1.1" and second.body == b"\x00payload"


async def test_redirect_loops_stop(recording_target: Callable[..., RecordingTarget]) -> None:
    recording = recording_target(lambda r: (302, [("Location", r.target)], b""))
    outbound = build_outbound(make_captured(method="GET", body=b""), recording.url)
    result = await deliver(outbound, policy=ANYWHERE, timeout=5, follow_redirects=True)
    assert result.error == f"stopped after {MAX_REDIRECTS} redirects" and result.status == 302
    assert len(result.redirects) == MAX_REDIRECTS
    assert len(recording.wait_for(MAX_REDIRECTS + 1)) == MAX_REDIRECTS + 1


# --- build_outbound on its own ----------------------------------------------------------------------


def make_captured(
    *,
    method: str = "POST",
    sub_path: str = "/sub",
    query: str = "q=1",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"{}",
    rejected: str | None = None,
) -> CapturedRequest:
    return CapturedRequest(
        bin_id="bin",
        method=method,
        path=f"/b/bin{sub_path}",
        sub_path=sub_path,
        query=query,
        headers=headers if headers is not None else [("content-type", "application/json")],
        body=body,
        body_size=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
        client_ip="127.0.0.1",
        client_port=50000,
        host="127.0.0.1:8000",
        scheme="http",
        http_version="1.1",
        received_at=datetime.now(UTC),
        rejected=rejected,
        id=1,
    )


@pytest.mark.parametrize(
    ("target_url", "sub_path", "query", "expected"),
    [
        ("http://localhost:3000/hook", "/github", "x=1", "http://localhost:3000/hook/github?x=1"),
        ("http://localhost:3000/hook/", "/github", "", "http://localhost:3000/hook/github"),
        ("http://localhost:3000", "", "", "http://localhost:3000/"),
        ("http://localhost:3000/hook/", "", "", "http://localhost:3000/hook/"),
        ("http://localhost:3000/hook?token=t", "/a", "b=2", "http://localhost:3000/hook/a?token=t&b=2"),
        # Nothing normalised: dot segments, repeated slashes and encodings go as captured.
        (
            "http://LOCALHOST:3000/x",
            "//a/../%2F%zz",
            "a=%20&a=+",
            "http://localhost:3000/x//a/../%2F%zz?a=%20&a=+",
        ),
        ("https://[::1]:8443/h#frag", "/p", "", "https://[::1]:8443/h/p"),
    ],
)
def test_url_rule(target_url: str, sub_path: str, query: str, expected: str) -> None:
    assert build_outbound(make_captured(sub_path=sub_path, query=query), target_url).url == expected


def test_hop_by_hop_and_framing_headers() -> None:
    captured = make_captured(
        headers=[
            ("x-first", "1"),
            ("transfer-encoding", "chunked"),
            ("connection", "Upgrade, X-Private"),
            ("upgrade", "websocket"),
            ("x-private", "secret"),
            ("trailer", "x-sum"),
            ("proxy-connection", "keep-alive"),
            ("host", "inspector.example"),
            ("x-last", "2"),
        ],
        body=b"abc",
    )
    outbound = build_outbound(captured, "http://app.test:3000/h")
    assert outbound.headers == [
        ("host", "app.test:3000"),
        ("x-first", "1"),
        ("content-length", "3"),
        ("x-last", "2"),
    ]
    assert outbound.body == b"abc"


def test_host_can_be_set_explicitly() -> None:
    outbound = build_outbound(
        make_captured(), "http://127.0.0.1:3000/", Overrides(set_headers=[("Host", "vhost.test")])
    )
    assert outbound.headers[0] == ("host", "vhost.test")


def test_typed_text_is_utf8_and_captured_text_is_bytes() -> None:
    # Captured text is latin-1 (one character per wire byte); what a person types is UTF-8.
    captured = make_captured(sub_path="/caf\xe9", query="")
    assert build_outbound(captured, "http://a.test/").url == "http://a.test/caf%E9"
    typed = build_outbound(captured, "http://a.test/", Overrides(path_suffix="café", query="q=€"))
    assert typed.url == "http://a.test/caf%C3%A9?q=%E2%82%AC"


@pytest.mark.parametrize(
    ("target_url", "overrides", "message"),
    [
        ("ftp://a.test/", None, "must be an http:// or https:// URL"),
        ("http:///nohost", None, "has no host"),
        ("http://user:pw@a.test/", None, "not in the target URL"),
        ("http://a.test:99999/", None, "not a valid URL"),
        ("http://a.test/", Overrides(method="GET /x"), "not a valid HTTP method"),
        ("http://a.test/", Overrides(set_headers=[("Bad Name", "x")]), "not a valid header name"),
        ("http://a.test/", Overrides(set_headers=[("X-A", "line\r\nX-Injected: 1")]), "line breaks"),
        ("http://a.test/", Overrides(set_headers=[("X-A", "€")]), "cannot carry"),
    ],
)
def test_bad_input_is_refused_in_words(target_url: str, overrides: Overrides | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_outbound(make_captured(), target_url, overrides)


def test_rejected_capture_needs_a_body() -> None:
    rejected = make_captured(body=b"", rejected="body over the limit")
    with pytest.raises(ValueError, match="was not captured"):
        build_outbound(rejected, "http://a.test/")
    assert build_outbound(rejected, "http://a.test/", Overrides(body=b"x")).body == b"x"


def test_outbound_serialises_for_the_api() -> None:
    import msgspec

    outbound = build_outbound(make_captured(body=b"\xff"), "http://a.test/")
    assert msgspec.json.decode(msgspec.json.encode(outbound), type=Outbound) == outbound


# --- re-signing on replay ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("captured_headers", "gone"),
    [
        # GitHub sends both; a replay re-signed with a new secret must not keep the old SHA-1 one.
        (
            [
                ("X-GitHub-Event", "push"),
                ("X-Hub-Signature", "sha1=0ld"),
                ("X-Hub-Signature-256", "sha256=0ld"),
            ],
            [],
        ),
        # Svix sends svix-*; signing writes webhook-*, and receivers read svix-* first when present.
        (
            [("svix-id", "msg_0ld"), ("svix-timestamp", "1"), ("svix-signature", "v1,0ld")],
            ["svix-id", "svix-timestamp", "svix-signature"],
        ),
    ],
)
def test_re_signing_replaces_every_signature_header_of_the_provider(
    server: ServerProcess,
    bin_id: str,
    target: RecordingTarget,
    captured_headers: list[tuple[str, str]],
    gone: list[str],
) -> None:
    """The dashboard's Replay tab, re-signing as the detected provider with a new secret: no header
    of the old signature reaches the target, and the new ones verify with the new secret."""
    body = b'{"zen": "Keep it logically awesome."}'
    captured = capture(server, bin_id, raw_request(server, bin_id, "/hook", captured_headers, body))
    provider = "github" if "X-GitHub-Event" in dict(captured_headers) else "standard-webhooks"
    secret = "whsec_" + base64.b64encode(b"a new test secret").decode()
    form = {
        "target": target.url,
        "method": captured.method,
        "path": captured.sub_path,
        "headers": "".join(f"{name}: {value}\n" for name, value in captured.headers),
        "sign_provider": provider,
        "sign_secret": secret,
    }
    answer = httpx.post(f"{server.url}/bins/{bin_id}/requests/{captured.id}/replay", data=form, timeout=30)
    assert answer.status_code == 200, answer.text
    [received] = target.wait_for(1)
    headers = [(name.lower(), value) for name, value in received.header_list()]
    assert not [value for _, value in headers if "0ld" in value], headers
    names = [name for name, _ in headers]
    assert not set(gone) & set(names), headers
    assert len(names) == len(set(names)), headers  # each signature header once
    value = dict(headers)
    if provider == "github":
        # Computed here with hmac, not with the project's signing code.
        key = secret.encode()
        assert value["x-hub-signature-256"] == "sha256=" + hmac.new(key, body, "sha256").hexdigest()
        assert value["x-hub-signature"] == "sha1=" + hmac.new(key, body, "sha1").hexdigest()
    else:
        signed = f"{value['webhook-id']}.{value['webhook-timestamp']}.".encode() + body
        digest = hmac.new(b"a new test secret", signed, "sha256").digest()
        assert value["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


def test_replaced_headers_name_every_variant_of_a_scheme() -> None:
    from inspector import signatures

    signed = signatures.sign("square", b"{}", "key", 0, url="https://example.com/hook").headers
    assert set(signatures.replaced_headers("square", signed)) == {
        "x-square-hmacsha256-signature",
        "x-square-signature",  # the legacy SHA-1 header of older subscriptions
    }
    signed = signatures.sign("github", b"{}", "s", 0).headers
    assert set(signatures.replaced_headers("github", signed)) == {"x-hub-signature-256", "x-hub-signature"}
    # A provider with one header: what signing writes.
    signed = signatures.sign("stripe", b"{}", "whsec_x", 0).headers
    assert signatures.replaced_headers("stripe", signed) == ["stripe-signature"]


@pytest.mark.parametrize(
    ("sub_path", "confined"),
    [
        ("", ""),
        ("/", "/"),
        ("/github/push", "/github/push"),
        ("/a/../../../admin", "/admin"),
        ("/%2e%2e/%2E%2e/x", "/x"),
        ("/a/./b/.", "/a/b/"),
        ("/a/b/..", "/a/"),
        ("/..", "/"),
        ("/a//b/", "/a//b/"),  # only dot segments change
        ("/caf\u00e9/%41", "/caf\u00e9/%41"),
    ],
)
def test_confined_path_stays_under_the_target(sub_path: str, confined: str) -> None:
    assert confined_path(sub_path) == confined


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # Captured before names kept their case: all lowercase, as then.
        (
            [("host", "a"), ("x-dup", "1"), ("content-length", "2"), ("x-dup", "2")],
            [("host", "t:1"), ("x-dup", "1"), ("content-length", "2"), ("x-dup", "2")],
        ),
        # As received: Host and Content-Length follow the sender's spelling, the rest is kept.
        (
            [("Host", "a"), ("X-Dup", "1"), ("x-dup", "2"), ("Transfer-Encoding", "chunked")],
            [("Host", "t:1"), ("X-Dup", "1"), ("x-dup", "2"), ("Content-Length", "2")],
        ),
        ([("X-Only", "1")], [("host", "t:1"), ("X-Only", "1"), ("content-length", "2")]),
    ],
)
def test_outbound_header_names_follow_the_capture(
    headers: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> None:
    assert build_outbound(make_captured(headers=headers), "http://t:1/").headers == expected
