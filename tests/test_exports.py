"""cURL, raw HTTP and HAR exports of captured requests."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import h11
import pytest

from inspector.exports import HOP_BY_HOP, to_curl, to_har, to_raw_http
from inspector.models import CapturedRequest

BINARY_BODY = b"\x00\xff\x00binary\r\n\xfe\x80'\"$(x)`\\\x00"


def captured(
    method: str = "POST",
    sub_path: str = "/hook",
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    host: str = "inspector.example",
    http_version: str = "1.1",
) -> CapturedRequest:
    return CapturedRequest(
        bin_id="abc123",
        method=method,
        path=f"/b/abc123{sub_path}",
        sub_path=sub_path,
        query=query,
        headers=[("host", host), *(headers or [])],
        body=body,
        body_size=len(body),
        body_sha256=None,
        client_ip="203.0.113.7",
        client_port=50123,
        host=host,
        scheme="http",
        http_version=http_version,
        received_at=datetime(2025, 3, 4, 5, 6, 7, 891000, tzinfo=UTC),
        id=42,
    )


# --- a raw-socket server that records requests byte for byte -------------------------


class Recorder:
    """Accepts connections on 127.0.0.1 and keeps each request's exact bytes."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[bytes] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(10)
                self.requests.append(self._read_request(conn))
                conn.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    if shutil.which("curl") is None:
        pytest.skip("the system curl is not installed: cannot run the generated commands")
    server = Recorder()
    yield server
    server.close()


def run(command: str, script: Path | None = None) -> None:
    """Run with sh -c, or from a script file for commands longer than one argv string may be."""
    if script is None:
        argv = ["sh", "-c", command]
    else:
        script.write_text(command)
        argv = ["sh", str(script)]
    result = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")


def replay(recorder: Recorder, request: CapturedRequest, target_url: str | None = None) -> bytes:
    run(to_curl(request, recorder.url if target_url is None else target_url))
    assert len(recorder.requests) == 1
    return recorder.requests.pop()


def split(wire: bytes) -> tuple[bytes, list[bytes], bytes]:
    head, _, body = wire.partition(b"\r\n\r\n")
    request_line, *header_lines = head.split(b"\r\n")
    return request_line, header_lines, body


def assert_reproduced(
    wire: bytes, request: CapturedRequest, host: str, path: str | None = None, http_version: str = "1.1"
) -> None:
    """The received request is the captured one: same line, headers in order, same body bytes."""
    request_line, header_lines, body = split(wire)
    target = (request.sub_path if path is None else path) + (f"?{request.query}" if request.query else "")
    assert request_line == f"{request.method} {target} HTTP/{http_version}".encode("latin-1")
    assert body == request.body
    # curl writes Host (from the URL) and Content-Length (from the body) itself.
    assert header_lines[0] == f"Host: {host}".encode("latin-1")
    lengths = [line for line in header_lines if line.lower().startswith(b"content-length:")]
    sends_body = request.body or request.header("content-length") or request.header("transfer-encoding")
    assert lengths == ([f"Content-Length: {len(request.body)}".encode()] if sends_body else [])
    others = [line for line in header_lines[1:] if line not in lengths]
    expected = [
        (f"{name}: {value}" if value else f"{name}:").encode("latin-1")
        for name, value in request.headers
        if name not in HOP_BY_HOP and name not in ("host", "content-length")
    ]
    # Nothing added (no User-Agent, Accept, Content-Type or Expect of curl's), nothing lost.
    assert others == expected


# --- cURL: reproduced byte for byte ---------------------------------------------------


def test_json_body(recorder: Recorder) -> None:
    body = b'{"amount": 12345678901234567890, "price": 1.10, "name": "Zo\xc3\xab", "at": "@home"}'
    request = captured(
        headers=[
            ("content-type", "application/json"),
            ("user-agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"),
            ("content-length", str(len(body))),
            ("stripe-signature", "t=1,v1=abc"),
        ],
        body=body,
    )
    command = to_curl(request)
    assert "--data-raw" in command  # readable text stays inline
    assert_reproduced(replay(recorder, request), request, f"127.0.0.1:{recorder.port}")


def test_binary_body_with_nul_and_ff(recorder: Recorder) -> None:
    request = captured(
        headers=[("content-type", "application/octet-stream"), ("content-length", str(len(BINARY_BODY)))],
        body=BINARY_BODY,
    )
    command = to_curl(request)
    assert "base64 -d" in command and "--data-binary @-" in command
    assert_reproduced(replay(recorder, request), request, f"127.0.0.1:{recorder.port}")


@pytest.mark.parametrize(
    ("method", "body"),
    [("FOO", b"payload"), ("FOO", b""), ("PROPFIND", b"<a/>"), ("PUT", b"x"), ("GET", b""), ("DELETE", b"")],
)
def test_methods(recorder: Recorder, method: str, body: bytes) -> None:
    headers = [("content-length", str(len(body)))] if body else []
    request = captured(method=method, headers=headers, body=body)
    assert_reproduced(replay(recorder, request), request, f"127.0.0.1:{recorder.port}")


def test_get_with_a_body_and_post_without_one(recorder: Recorder) -> None:
    get = captured(method="GET", headers=[("content-length", "4")], body=b"body")
    assert_reproduced(replay(recorder, get), get, f"127.0.0.1:{recorder.port}")
    post = captured(method="POST", headers=[("content-length", "0")])
    assert_reproduced(replay(recorder, post), post, f"127.0.0.1:{recorder.port}")


def test_duplicate_headers_in_order(recorder: Recorder) -> None:
    request = captured(
        method="GET",
        headers=[
            ("x-dup", "first"),
            ("accept", "application/json"),
            ("x-other", "between"),
            ("x-dup", "second"),
            ("accept", "text/plain"),
            ("x-dup", "third"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
        ],
    )
    assert_reproduced(replay(recorder, request), request, f"127.0.0.1:{recorder.port}")


def test_path_and_query_kept_as_sent(recorder: Recorder) -> None:
    request = captured(
        method="GET",
        sub_path="/a%2Fb//c/./d/../e%2f%7B%7d/[x]{y}*",
        query="k=1&k=2&k=&flag&sp=a+b%20c&arr[]=1&arr[]=2&enc=%2F%26",
    )
    assert_reproduced(replay(recorder, request), request, f"127.0.0.1:{recorder.port}")


def test_hostile_values_are_quoted_not_executed(recorder: Recorder, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    literal_marker = Path("/tmp/pwned")
    existed = literal_marker.exists()
    payloads = [
        "'$(touch /tmp/pwned)",
        f"'$(touch {marker})",
        f'"$(touch {marker})"',
        f"`touch {marker}`",
        f"'; touch {marker}; echo '",
        f"$(touch${{IFS}}{marker})",
        "\\'\\",
    ]
    body = "\n".join(payloads).encode()
    request = captured(
        sub_path=f"/x'$(touch${{IFS}}{marker})",
        query=f"q='$(touch${{IFS}}{marker})&r=`id`",
        headers=[(f"x-evil-{i}", payload) for i, payload in enumerate(payloads)]
        + [("content-length", str(len(body)))],
        body=body,
    )
    wire = replay(recorder, request)
    assert not marker.exists()
    assert literal_marker.exists() == existed
    assert_reproduced(wire, request, f"127.0.0.1:{recorder.port}")


def test_header_bytes_that_are_not_ascii(recorder: Recorder) -> None:
    request = captured(
        method="GET",
        headers=[
            ("x-utf8", "Zo\xc3\xab \xe2\x9c\x93"),  # UTF-8 bytes, held as latin-1 text
            ("x-latin1", "caf\xe9 100%s \\n"),  # not UTF-8: spelled with printf escapes
            ("x-empty", ""),
            ("x-tab", "a\tb"),
        ],
    )
    command = to_curl(request)
    assert "x-utf8: Zoë ✓" in command
    assert "printf" in command
    assert_reproduced(replay(recorder, request), request, f"127.0.0.1:{recorder.port}")


@pytest.mark.parametrize(
    "body",
    [
        b"@/etc/passwd",  # not read as a file
        b"line one\r\nline two\r\n",  # CR goes through base64
        b"x" * 40_000,  # too long to inline
        "Zoë ✓ \u2028".encode(),
        b"-d --data @-",
    ],
)
def test_text_bodies(recorder: Recorder, body: bytes) -> None:
    request = captured(
        headers=[("content-type", "text/plain"), ("content-length", str(len(body)))], body=body
    )
    assert_reproduced(replay(recorder, request), request, f"127.0.0.1:{recorder.port}")


def test_large_binary_body(recorder: Recorder, tmp_path: Path) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB: the base64 is far over Linux's 128 KiB argv string limit
    request = captured(headers=[("content-length", str(len(body)))], body=body)
    run(to_curl(request, recorder.url), script=tmp_path / "replay.sh")
    assert_reproduced(recorder.requests.pop(), request, f"127.0.0.1:{recorder.port}")


def test_hop_by_hop_headers_are_dropped(recorder: Recorder) -> None:
    request = captured(
        headers=[
            ("connection", "keep-alive, x-private"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("x-kept", "yes"),
        ],
        body=b"payload",
    )
    command = to_curl(request)
    assert "keep-alive" not in command and "chunked" not in command
    assert_reproduced(replay(recorder, request), request, f"127.0.0.1:{recorder.port}")


def test_default_target_is_the_request_url(recorder: Recorder) -> None:
    host = f"127.0.0.1:{recorder.port}"
    request = captured(method="PATCH", sub_path="/x//y", query="a=1", host=host, body=b"{}")
    assert f"'http://{host}/b/abc123/x//y?a=1'" in to_curl(request)
    run(to_curl(request))
    assert_reproduced(recorder.requests.pop(), request, host, path=request.path)


def test_target_url_with_a_base_path(recorder: Recorder) -> None:
    request = captured(method="GET", sub_path="//deep/%2F", query="z=1")
    for base in (f"{recorder.url}/hooks", f"{recorder.url}/hooks/"):
        run(to_curl(request, base))
        assert_reproduced(
            recorder.requests.pop(), request, f"127.0.0.1:{recorder.port}", path="/hooks//deep/%2F"
        )


def test_http_1_0(recorder: Recorder) -> None:
    request = captured(method="GET", http_version="1.0")
    assert_reproduced(replay(recorder, request), request, f"127.0.0.1:{recorder.port}", http_version="1.0")


def test_target_url_is_text_typed_by_a_person() -> None:
    request = captured(method="GET", sub_path="/caf\xc3\xa9", headers=[])
    command = to_curl(request, "http://bücher.example/ü")
    assert "'http://bücher.example/ü/café'" in command


@pytest.mark.parametrize("target", ["ftp://host/x", "localhost:3000", "http://h/x?y=1", "http://h/#f"])
def test_bad_target_urls_are_refused(target: str) -> None:
    with pytest.raises(ValueError, match="target URL"):
        to_curl(captured(), target)


def test_head_does_not_wait_for_a_body() -> None:
    command = to_curl(captured(method="HEAD"))
    assert "--head" in command and "--request" not in command


# --- raw HTTP -------------------------------------------------------------------------


def test_raw_http_is_the_wire_format() -> None:
    request = captured(
        method="PUT",
        sub_path="/a%2F//b",
        query="x=1&x=2",
        headers=[("content-type", "application/octet-stream"), ("x-d", "1"), ("x-d", "2"), ("x-e", "")],
        body=BINARY_BODY,
    )
    assert to_raw_http(request) == (
        b"PUT /b/abc123/a%2F//b?x=1&x=2 HTTP/1.1\r\n"
        b"host: inspector.example\r\n"
        b"content-type: application/octet-stream\r\n"
        b"x-d: 1\r\n"
        b"x-d: 2\r\n"
        b"x-e:\r\n"
        b"\r\n" + BINARY_BODY
    )


def parse_with_h11(raw: bytes) -> tuple[h11.Request, bytes]:
    """Parse as a server would, rejecting anything that is not valid HTTP/1.1."""
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(raw)
    connection.receive_data(b"")
    request, body = None, b""
    while True:
        event = connection.next_event()
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
        else:
            raise AssertionError(f"unexpected event {event!r}")
    assert request is not None
    return request, body


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ([("content-type", "application/json"), ("content-length", "8")], b'{"a": 1}'),
        ([("content-length", str(len(BINARY_BODY)))], BINARY_BODY),
        ([("transfer-encoding", "chunked")], BINARY_BODY),
        ([("transfer-encoding", "chunked")], b""),
        ([("x-latin", "caf\xe9"), ("x-dup", "a"), ("x-dup", "b")], b""),
    ],
)
def test_raw_http_round_trips(headers: list[tuple[str, str]], body: bytes) -> None:
    request = captured(sub_path="/p%2Fq//r", query="a=1&a=2", headers=headers, body=body)
    parsed, parsed_body = parse_with_h11(to_raw_http(request))
    assert parsed.method.decode() == request.method
    assert parsed.target.decode("latin-1") == f"{request.path}?{request.query}"
    assert parsed.http_version == b"1.1"
    assert [(n.decode(), v.decode("latin-1")) for n, v in parsed.headers] == request.headers
    assert parsed_body == body


# --- HAR ------------------------------------------------------------------------------


def check_har(har: dict) -> None:
    """Required fields and types of HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/)."""
    json.dumps(har, allow_nan=False)  # plain JSON
    log = har["log"]
    assert log["version"] == "1.2"
    assert isinstance(log["creator"]["name"], str) and isinstance(log["creator"]["version"], str)
    assert isinstance(log["entries"], list)
    for entry in log["entries"]:
        for key in ("startedDateTime", "time", "request", "response", "cache", "timings"):
            assert key in entry, key
        started = datetime.fromisoformat(entry["startedDateTime"])
        assert started.tzinfo is not None
        assert isinstance(entry["time"], (int, float))
        request = entry["request"]
        for key, kind in [
            ("method", str),
            ("url", str),
            ("httpVersion", str),
            ("cookies", list),
            ("headers", list),
            ("queryString", list),
            ("headersSize", int),
            ("bodySize", int),
        ]:
            assert isinstance(request[key], kind), key
        for pair in request["cookies"] + request["headers"] + request["queryString"]:
            assert isinstance(pair["name"], str) and isinstance(pair["value"], str)
        if "postData" in request:
            post = request["postData"]
            assert isinstance(post["mimeType"], str)
            assert isinstance(post["text"], str)
            assert isinstance(post["params"], list)
        response = entry["response"]
        for key, kind in [
            ("status", int),
            ("statusText", str),
            ("httpVersion", str),
            ("cookies", list),
            ("headers", list),
            ("content", dict),
            ("redirectURL", str),
            ("headersSize", int),
            ("bodySize", int),
        ]:
            assert isinstance(response[key], kind), key
        assert isinstance(response["content"]["size"], int)
        assert isinstance(response["content"]["mimeType"], str)
        assert isinstance(entry["cache"], dict)
        for key in ("send", "wait", "receive"):
            assert isinstance(entry["timings"][key], (int, float))
        for key in entry:  # custom fields must start with "_"
            assert key in {"pageref", "startedDateTime", "time", "request", "response", "cache"} | {
                "timings",
                "serverIPAddress",
                "connection",
                "comment",
            } or key.startswith("_")


def test_har_log() -> None:
    json_body = b'{"a": 1}'
    requests = [
        captured(
            sub_path="/x",
            query="k=1&k=2&sp=a+b%20c&u=%C3%A9&flag",
            headers=[
                ("content-type", "application/json"),
                ("cookie", "session=abc; theme=dark"),
                ("x-utf8", "Zo\xc3\xab"),
            ],
            body=json_body,
        ),
        captured(headers=[("content-type", "application/octet-stream")], body=BINARY_BODY),
        captured(
            headers=[("content-type", "application/x-www-form-urlencoded")],
            body=b"name=Zo%C3%AB&tag=a&tag=b",
        ),
        captured(method="GET"),
    ]
    har = to_har(requests)
    check_har(har)
    assert har["log"]["creator"]["name"] == "Webhook Inspector"
    first, binary, form, get = (entry["request"] for entry in har["log"]["entries"])

    assert first["method"] == "POST"
    assert first["url"] == "http://inspector.example/b/abc123/x?k=1&k=2&sp=a+b%20c&u=%C3%A9&flag"
    assert first["httpVersion"] == "HTTP/1.1"
    assert first["queryString"] == [
        {"name": "k", "value": "1"},
        {"name": "k", "value": "2"},
        {"name": "sp", "value": "a b c"},
        {"name": "u", "value": "é"},
        {"name": "flag", "value": ""},
    ]
    assert {"name": "x-utf8", "value": "Zoë"} in first["headers"]
    assert [h["name"] for h in first["headers"]] == ["host", "content-type", "cookie", "x-utf8"]
    assert first["cookies"] == [{"name": "session", "value": "abc"}, {"name": "theme", "value": "dark"}]
    assert first["postData"] == {"mimeType": "application/json", "params": [], "text": '{"a": 1}'}
    assert first["bodySize"] == len(json_body)
    assert first["headersSize"] == len(to_raw_http(requests[0])) - len(json_body)

    assert binary["postData"]["_encoding"] == "base64"
    assert base64.b64decode(binary["postData"]["text"]) == BINARY_BODY
    assert binary["postData"]["comment"]

    assert form["postData"]["text"] == "name=Zo%C3%AB&tag=a&tag=b"
    assert form["postData"]["params"] == [
        {"name": "name", "value": "Zoë"},
        {"name": "tag", "value": "a"},
        {"name": "tag", "value": "b"},
    ]
    assert "postData" not in get

    entry = har["log"]["entries"][0]
    assert entry["startedDateTime"] == "2025-03-04T05:06:07.891+00:00"
    assert entry["response"]["status"] == 0
    assert entry["_clientAddress"] == "203.0.113.7"


def test_har_of_nothing() -> None:
    har = to_har([])
    check_har(har)
    assert har["log"]["entries"] == []
