"""Capture over real HTTP: any method, exact bytes, headers and query as sent, limits and concurrency."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
import socket
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest
from conftest import H11_METHOD, ServerProcess, _complete

from inspector.exports import to_har
from inspector.forwarder import captured_from_json

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "MKCOL", "FOO"]


def latest(client: httpx.Client, bin_id: str) -> dict:
    items = client.get(f"/api/bins/{bin_id}/requests", params={"limit": 1}).json()["items"]
    return client.get(f"/api/bins/{bin_id}/requests/{items[0]['id']}").json()


@pytest.mark.parametrize("method", METHODS)
def test_every_method_token_is_captured(client: httpx.Client, bin_id: str, method: str) -> None:
    response = client.request(
        method, f"/b/{bin_id}/hook", content=b"" if method in ("HEAD", "TRACE") else b"x"
    )
    assert response.status_code == 200
    request_id = int(response.headers["x-inspector-request-id"])
    captured = client.get(f"/api/bins/{bin_id}/requests/{request_id}").json()
    assert captured["method"] == method
    assert captured["sub_path"] == "/hook"


# Method tokens the default server must capture exactly: llhttp knows the first ones; it reads the
# next in a stand-in's place (it matches case), and one of them holds every tchar of RFC 9110; h11
# reads the last. (CONNECT is not here: a 2xx to it opens a tunnel in h11, so its answer has no body.)
TOKENS = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "PROPFIND", "MKCOL", "M-SEARCH", "QUERY"]
TOKENS += ["FOO", "get", "Post", "PROPFIND2", "X", "!#$%&'*+-.^_`|~0123456789AZaz", H11_METHOD]


def raw_request(
    method: str, target: str, body: bytes, *, chunked: bool = False, close: bool = False
) -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: x\r\n" + ("Connection: close\r\n" if close else "")
    if chunked:
        framed = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:3], body[3:]))
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + framed + b"0\r\n\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


@pytest.mark.parametrize("method", TOKENS)
def test_every_method_token_is_captured_on_every_kind_of_connection(
    server: ServerProcess, client: httpx.Client, bin_id: str, method: str
) -> None:
    """On a fresh connection, then kept alive with a chunked body, then pipelined behind a POST in
    one write: the method, path and body are stored exactly, and every answer is a 200."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        received = b""
        for n, request in enumerate(
            [
                raw_request(method, f"/b/{bin_id}/fresh", b"body-1"),
                raw_request(method, f"/b/{bin_id}/kept", b"body-2", chunked=True),
                raw_request("POST", f"/b/{bin_id}/ahead", b"post")
                + raw_request(method, f"/b/{bin_id}/piped", b"body-3", close=True),
            ]
        ):
            sock.sendall(request)
            while received.count(b"HTTP/1.1 200 ") < n + 1 or not _complete(
                received.rpartition(b"HTTP/1.1 ")[2]
            ):
                chunk = sock.recv(65536)
                assert chunk, received
                received += chunk
        while chunk := sock.recv(65536):  # the last request asked for the connection to close
            received += chunk
    assert received.count(b"HTTP/1.1 200 ") == 4
    items = client.get(f"/api/bins/{bin_id}/requests").json()["items"]
    found = [
        (
            item["method"],
            item["sub_path"],
            client.get(f"/api/bins/{bin_id}/requests/{item['id']}/body").content,
        )
        for item in reversed(items)
    ]
    assert found == [
        (method, "/fresh", b"body-1"),
        (method, "/kept", b"body-2"),
        ("POST", "/ahead", b"post"),
        (method, "/piped", b"body-3"),
    ]


BODIES = {
    "empty": (b"", None),
    "json": (b'{"amount": 1.10, "big": 12345678901234567890123, "k": "\xc3\xa9"}', "application/json"),
    "form": (b"a=1&a=2&b=%20x+y", "application/x-www-form-urlencoded"),
    "multipart": (
        b'--XyZ\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\xff\xfe\r\n--XyZ--\r\n",
        "multipart/form-data; boundary=XyZ",
    ),
    "binary": (bytes(range(256)) * 4 + b"\x00\xff\x00", "application/octet-stream"),
    "gzip": (gzip.compress(b'{"compressed": true}' * 50), "application/json"),
    "text-with-charset": (b"caf\xe9", "text/plain; charset=latin-1"),
}


@pytest.mark.parametrize("kind", BODIES)
def test_body_comes_back_byte_exact(client: httpx.Client, bin_id: str, kind: str) -> None:
    body, content_type = BODIES[kind]
    headers = {"content-type": content_type} if content_type else {}
    if kind == "gzip":
        headers["content-encoding"] = "gzip"
    sent = client.post(f"/b/{bin_id}", content=body, headers=headers)
    assert sent.status_code == 200
    request_id = sent.headers["x-inspector-request-id"]

    raw = client.get(f"/api/bins/{bin_id}/requests/{request_id}/body")
    assert raw.content == body
    assert raw.headers["content-type"] == (content_type or "application/octet-stream")
    assert "sandbox" in raw.headers["content-security-policy"]

    captured = client.get(f"/api/bins/{bin_id}/requests/{request_id}").json()
    assert captured["body_size"] == len(body)
    assert captured["body_sha256"] == hashlib.sha256(body).hexdigest()
    if kind == "gzip":
        assert ["content-encoding", "gzip"] in captured["headers"]


def test_chunked_body_is_stored_without_framing(client: httpx.Client, bin_id: str) -> None:
    parts = [b"first,", b"\x00second,", b"third"]
    sent = client.post(f"/b/{bin_id}/chunked", content=iter(parts))
    assert sent.status_code == 200
    captured = client.get(f"/api/bins/{bin_id}/requests/{sent.headers['x-inspector-request-id']}").json()
    assert ["Transfer-Encoding", "chunked"] in captured["headers"]  # httpx sends it so
    body = client.get(f"/api/bins/{bin_id}/requests/{captured['id']}/body").content
    assert body == b"".join(parts)


def test_json_body_reported_as_text_and_binary_as_base64(client: httpx.Client, bin_id: str) -> None:
    text_id = client.post(f"/b/{bin_id}", content='{"é": 1}'.encode()).headers["x-inspector-request-id"]
    binary_id = client.post(f"/b/{bin_id}", content=b"\xff\x00").headers["x-inspector-request-id"]
    text = client.get(f"/api/bins/{bin_id}/requests/{text_id}").json()
    binary = client.get(f"/api/bins/{bin_id}/requests/{binary_id}").json()
    assert (text["body"], text["body_encoding"]) == ('{"é": 1}', "utf-8")
    assert (binary["body"], binary["body_encoding"]) == ("/wA=", "base64")


def test_path_query_and_headers_kept_exactly_as_sent(
    server: ServerProcess, client: httpx.Client, bin_id: str, raw_http
) -> None:
    request = (
        f"PROPFIND /b/{bin_id}/a%2Fb//c/%7Euser/../d?z=1&a=2&z=%20&flag&a=1 HTTP/1.1\r\n"
        f"Host: hooks.example.test:8443\r\n"
        "X-Dup: one\r\n"
        "X-Other: between\r\n"
        "X-Dup: two\r\n"
        "x-dup: three\r\n"
        "Content-Length: 0\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    response = raw_http(server.url, request)
    assert response.startswith(b"HTTP/1.1 200")
    captured = latest(client, bin_id)
    assert captured["path"] == f"/b/{bin_id}/a%2Fb//c/%7Euser/../d"
    assert captured["sub_path"] == "/a%2Fb//c/%7Euser/../d"
    assert captured["query"] == "z=1&a=2&z=%20&flag&a=1"
    assert captured["query_params"] == [["z", "1"], ["a", "2"], ["z", " "], ["flag", ""], ["a", "1"]]
    names = [name for name, _ in captured["headers"]]
    assert names == ["Host", "X-Dup", "X-Other", "X-Dup", "x-dup", "Content-Length", "Connection"]
    assert [value for name, value in captured["headers"] if name.lower() == "x-dup"] == [
        "one",
        "two",
        "three",
    ]
    assert captured["host"] == "hooks.example.test:8443"
    assert captured["scheme"] == "http"
    assert (
        captured["url"]
        == f"http://hooks.example.test:8443/b/{bin_id}/a%2Fb//c/%7Euser/../d?z=1&a=2&z=%20&flag&a=1"
    )


@pytest.mark.parametrize("method", ["POST", "FOO", H11_METHOD])  # llhttp, llhttp for a stand-in, h11
def test_header_names_come_back_as_sent_from_the_api_raw_and_har(
    server: ServerProcess, client: httpx.Client, bin_id: str, raw_http, method: str
) -> None:
    """Names keep their case (the scope the framework sees is lowercase); order and repeats too."""
    sent = [
        ("Host", "hooks.example.test"),
        ("X-GitHub-Event", "push"),
        ("x-github-delivery", "abc"),
        ("X-GITHUB-EVENT", "ping"),
        ("Content-Type", "application/json"),
        ("content-LENGTH", "2"),
        ("Connection", "close"),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in sent)
    response = raw_http(server.url, f"{method} /b/{bin_id}/gh HTTP/1.1\r\n{head}\r\n{{}}".encode())
    assert response.startswith(b"HTTP/1.1 200")
    captured = latest(client, bin_id)
    assert [tuple(pair) for pair in captured["headers"]] == sent
    assert captured["host"] == "hooks.example.test" and captured["body_size"] == 2  # found in any case

    page = client.get(f"/bins/{bin_id}/requests/{captured['id']}").text
    raw = html.unescape(page.split('<pre class="raw">', 1)[1].split("</pre>", 1)[0])
    at = [raw.find(f"{name}: {value}") for name, value in sent]  # the Raw tab, in order
    assert -1 not in at and at == sorted(at), raw

    har = to_har([captured_from_json(client.get(f"/api/bins/{bin_id}/requests/{captured['id']}").content)])
    assert [(h["name"], h["value"]) for h in har["log"]["entries"][0]["request"]["headers"]] == sent


def test_request_meta(client: httpx.Client, bin_id: str) -> None:
    before = datetime.now(UTC)
    client.post(f"/b/{bin_id}", content=b"{}")
    captured = latest(client, bin_id)
    received = datetime.fromisoformat(captured["received_at"])
    assert received.tzinfo is not None and received.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= received <= datetime.now(UTC)
    assert "." in captured["received_at"]  # microseconds kept
    assert captured["http_version"] == "1.1"
    assert captured["client_ip"] == "127.0.0.1"
    assert isinstance(captured["client_port"], int)
    assert captured["rejected"] is None


def test_bare_bin_url_and_trailing_slash(client: httpx.Client, bin_id: str) -> None:
    assert client.post(f"/b/{bin_id}").status_code == 200
    assert latest(client, bin_id)["sub_path"] == ""
    assert client.post(f"/b/{bin_id}/").status_code == 200
    assert latest(client, bin_id)["sub_path"] == "/"


def test_unknown_bin_is_404_and_stores_nothing(client: httpx.Client, bin_id: str) -> None:
    response = client.post("/b/no-such-bin/hook", content=b"data")
    assert response.status_code == 404
    assert "no-such-bin" in response.json()["detail"]
    assert client.post("/b/").status_code == 404
    assert client.get(f"/api/bins/{bin_id}").json()["request_count"] == 0


def test_oversize_body_is_413_and_the_attempt_is_recorded(client: httpx.Client, bin_id: str) -> None:
    # The shared server runs with --max-body-size 64KiB.
    body = b"x" * (64 * 1024 + 1)
    response = client.post(f"/b/{bin_id}/big", content=body, headers={"x-attempt": "1"})
    assert response.status_code == 413
    assert "64 KiB" in response.json()["detail"]
    attempt = latest(client, bin_id)
    assert attempt["rejected"] and "64 KiB" in attempt["rejected"]
    assert attempt["method"] == "POST"
    assert attempt["body_size"] == len(body)  # the declared size
    assert attempt["body"] == ""
    assert ["x-attempt", "1"] in attempt["headers"]

    exactly = client.post(f"/b/{bin_id}/big", content=b"y" * (64 * 1024))
    assert exactly.status_code == 200


def test_oversize_chunked_body_without_declared_size(client: httpx.Client, bin_id: str) -> None:
    response = client.post(f"/b/{bin_id}", content=iter([b"z" * 40_000, b"z" * 40_000]))
    assert response.status_code == 413
    attempt = latest(client, bin_id)
    assert attempt["rejected"]
    assert attempt["body_size"] is None


def test_every_answer_to_a_sender_is_sandboxed(client: httpx.Client, bin_id: str) -> None:
    # Bins answer on the dashboard's origin: whatever a browser makes of an answer must not run there.
    answers = {
        "built-in": client.post(f"/b/{bin_id}/x", content=b"<script>alert(1)</script>"),
        "built-in HEAD": client.head(f"/b/{bin_id}/x"),
        "unknown bin": client.post("/b/no-such-bin-here/x"),
        "too large": client.post(f"/b/{bin_id}", content=b"x" * (64 * 1024 + 1)),
    }
    settings = {"cors": True, "default": {"body": "<script>alert(1)</script>", "content_type": "text/html"}}
    assert client.put(f"/api/bins/{bin_id}/response", json=settings).status_code == 200
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "PUT"}
    answers["preflight"] = client.options(f"/b/{bin_id}/x", headers=preflight)
    answers["custom"] = client.post(f"/b/{bin_id}/x")
    assert [answer.status_code for answer in answers.values()] == [200, 200, 404, 413, 204, 200]
    for kind, answer in answers.items():
        assert answer.headers.get("content-security-policy") == "sandbox", kind
        assert answer.headers.get("x-content-type-options") == "nosniff", kind


def test_deleted_bin_stops_capturing(client: httpx.Client) -> None:
    bin_id = client.post("/api/bins").json()["id"]
    assert client.post(f"/b/{bin_id}").status_code == 200
    assert client.delete(f"/api/bins/{bin_id}").status_code == 204
    assert client.post(f"/b/{bin_id}").status_code == 404


def test_thousand_concurrent_captures_from_fifty_clients(
    server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    async def sender(worker: int) -> list[str]:
        acknowledged = []
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            for n in range(20):
                marker = f"{worker}-{n}"
                response = await http.post(f"/b/{bin_id}/load", content=marker.encode())
                assert response.status_code == 200
                acknowledged.append(marker)
        return acknowledged

    async def run() -> list[str]:
        results = await asyncio.gather(*(sender(worker) for worker in range(50)))
        return [marker for result in results for marker in result]

    sent = asyncio.run(run())
    assert len(sent) == 1000

    stored: list[str] = []
    ids: list[int] = []
    before = None
    while True:
        params = {"limit": 500, **({"before": before} if before else {})}
        page = client.get(f"/api/bins/{bin_id}/requests", params=params).json()
        ids += [item["id"] for item in page["items"]]
        if page["next"] is None:
            break
        before = page["next"]
    for request_id in ids:
        stored.append(client.get(f"/api/bins/{bin_id}/requests/{request_id}").json()["body"])
    assert sorted(stored) == sorted(sent)  # every one, exactly once


def test_trusted_proxy_headers(start_server) -> None:
    server = start_server("--trusted-proxy", "127.0.0.0/8")
    with httpx.Client(base_url=server.url) as http:
        bin_id = http.post("/api/bins").json()["id"]
        http.post(
            f"/b/{bin_id}",
            headers={
                "x-forwarded-for": "198.51.100.9, 203.0.113.7, 127.0.0.5",
                "x-forwarded-proto": "https",
                "x-forwarded-host": "hooks.example.com",
            },
        )
        first = latest(http, bin_id)
        assert (first["client_ip"], first["scheme"], first["host"]) == (
            "203.0.113.7",
            "https",
            "hooks.example.com",
        )
        assert first["url"].startswith(f"https://hooks.example.com/b/{bin_id}")

        http.post(
            f"/b/{bin_id}", headers={"forwarded": 'for="[2001:db8::7]:4711";proto=https;host=a.example'}
        )
        second = latest(http, bin_id)
        assert (second["client_ip"], second["scheme"], second["host"]) == (
            "2001:db8::7",
            "https",
            "a.example",
        )


def test_proxy_headers_ignored_from_untrusted_peers(client: httpx.Client, bin_id: str) -> None:
    client.post(f"/b/{bin_id}", headers={"x-forwarded-for": "198.51.100.9", "x-forwarded-proto": "https"})
    captured = latest(client, bin_id)
    assert captured["client_ip"] == "127.0.0.1"
    assert captured["scheme"] == "http"
    assert ["x-forwarded-for", "198.51.100.9"] in captured["headers"]


async def test_a_captures_event_holds_the_committed_request_and_the_bins_previous_id(tmp_path) -> None:
    """In process, the capture path hands live views what they render (the request as committed, its
    id set) and what proves they may (the id its bin committed just before), so they need no read."""
    from store.storetools import make_bin

    from inspector.bincache import BinCache
    from inspector.capture import HELD_BODY_LIMIT, Capture
    from inspector.config import Settings
    from inspector.hub.local import LocalHub
    from inspector.store.sqlite import SQLiteStore

    store, hub = SQLiteStore(tmp_path / "capture.db"), LocalHub()
    await store.open()
    await store.create_bin(make_bin("b"))
    capture = Capture(Settings(), BinCache(store, hub), store, hub)

    async def send(body: bytes) -> int:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def record(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http", "method": "POST", "path": "/b/b/hook", "raw_path": b"/b/b/hook",
            "query_string": b"x=1", "headers": [(b"host", b"h"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 4000), "server": ("127.0.0.1", 80), "scheme": "http",
            "http_version": "1.1",
        }  # fmt: skip
        await capture(scope, receive, record)
        assert sent[0]["status"] == 200
        return int(dict(sent[0]["headers"])[b"x-inspector-request-id"])

    try:
        async with hub.subscribe("b") as subscription:
            first, second = await send(b'{"n": 1}'), await send(b'{"n": 2}')
            events = [await anext(aiter(subscription)) for _ in range(2)]
        assert [e.request_id for e in events] == [first, second]
        assert events[1].previous == first
        held = events[1].captured
        assert held is not None and (held.id, held.body, held.query) == (second, b'{"n": 2}', "x=1")
        stored = await store.get_request("b", second)
        assert stored is not None
        assert held == msgspec.structs.replace(stored, provider=None, event=None)
        # A large body stays in the store: queues of slow subscribers must not keep such bodies alive.
        async with hub.subscribe("b") as subscription:
            large = await send(b"x" * (HELD_BODY_LIMIT + 1))
            event = await anext(aiter(subscription))
        assert (event.request_id, event.previous, event.captured) == (large, second, None)
    finally:
        await hub.close()
        await store.close()
