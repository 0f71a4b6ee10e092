"""The hardened HTTP protocols over raw sockets, on every parser path: deadlines, head limit, strict
framing, keep-alive, pipelining, chunked bodies, 100-continue, and the hand-over between parsers."""

from __future__ import annotations

import asyncio
import json
import re
import select
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import H11_METHOD, ServerProcess, _complete
from uvicorn.server import ServerState

from inspector.extensions import RESPOND
from inspector.server import MAX_STAND_IN, PROTOCOLS, ConnectionLimits, framing_problem, method_end

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
KEEP_ALIVE = 2.0
# Slack for a shared, busy machine: a deadline must fire no later than this after it is due.
MARGIN = 2.0


# Each way a request can be parsed: (--http, the method the tests send).
PATHS = {
    "h11": ("h11", "POST"),
    "httptools": ("httptools", "POST"),
    "auto-fast": ("auto", "POST"),  # llhttp takes POST
    "auto-fallback": ("auto", H11_METHOD),  # handed to h11, and back when answered
}


@pytest.fixture(scope="module", params=list(PATHS))
def path(request: pytest.FixtureRequest) -> tuple[str, str]:
    return PATHS[request.param]


@pytest.fixture(scope="module")
def server_for(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], ServerProcess]]:
    """The server for an --http choice, started when first needed, with deadlines short enough to test."""
    started: dict[str, ServerProcess] = {}

    def get(http: str) -> ServerProcess:
        if http not in started:
            started[http] = ServerProcess(
                tmp_path_factory.mktemp(http) / "inspector.db",
                *("--http", http),
                *("--header-timeout", str(HEADER_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT)),
                *("--keep-alive-timeout", str(KEEP_ALIVE), "--max-header-bytes", "4KiB"),
            ).start()
        return started[http]

    yield get
    for process in started.values():
        process.stop()


@pytest.fixture
def server(path: tuple[str, str], server_for: Callable[[str], ServerProcess]) -> ServerProcess:
    """This module's own `server`: the one for the path under test."""
    return server_for(path[0])


@pytest.fixture
def method(path: tuple[str, str]) -> str:
    return path[1]


@pytest.fixture
def bin_id(server: ServerProcess) -> str:
    return httpx.post(f"{server.url}/api/bins").json()["id"]


def stored(server: ServerProcess, bin_id: str) -> list[dict]:
    return httpx.get(f"{server.url}/api/bins/{bin_id}/requests", params={"limit": 100}).json()["items"]


def stored_in_order(server: ServerProcess, bin_id: str) -> list[tuple[str, str, bytes]]:
    """(method, sub-path, body) of each capture, oldest first."""
    found = []
    for item in reversed(stored(server, bin_id)):
        body = httpx.get(f"{server.url}/api/bins/{bin_id}/requests/{item['id']}/body").content
        found.append((item["method"], item["sub_path"], body))
    return found


def other_method(path: tuple[str, str]) -> str:
    """A method for a second request that takes the other parser, where there is one."""
    return "PUT" if path[0] == "httptools" else H11_METHOD


def connect(server: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def until_closed(sock: socket.socket, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    sock.settimeout(within)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        raise AssertionError(f"still open after {within} s; received {received[:200]!r}") from None
    return received, time.monotonic() - started


def read_response(sock: socket.socket) -> bytes:
    """One whole response (with a Content-Length) from a connection that stays open."""
    received = b""
    while not _complete(received):
        chunk = sock.recv(65536)
        assert chunk, f"closed mid-response: {received!r}"
        received += chunk
    return received


def status_and_detail(response: bytes) -> tuple[int, str]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    return int(head.split(b" ", 2)[1]), json.loads(body)["detail"]


def test_an_idle_connection_is_closed_without_an_answer(server: ServerProcess) -> None:
    with connect(server) as sock:
        received, took = until_closed(sock, HEADER_TIMEOUT + MARGIN)
    assert received == b""
    assert took >= HEADER_TIMEOUT * 0.8


def test_a_trickled_request_head_gets_408_when_its_time_is_up(server: ServerProcess, method: str) -> None:
    """Slowloris: a half-sent request line, then a header byte now and then; bytes do not buy time."""
    with connect(server) as sock:
        sock.sendall(f"{method} /b/x HTTP/1.1\r\nX-Slow: ".encode())
        started = time.monotonic()
        received = b""
        for _ in range(50):  # a byte every 0.1 s, for at most 5 s
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                received, _ = until_closed(sock, MARGIN)
                break
            try:
                sock.sendall(b"a")
            except OSError:
                break
        took = time.monotonic() - started
    status, detail = status_and_detail(received)
    assert status == 408
    assert "did not arrive within 1 s" in detail
    assert HEADER_TIMEOUT * 0.8 <= took <= HEADER_TIMEOUT + MARGIN


def test_the_body_timeout_is_an_idle_gap(server: ServerProcess, bin_id: str, method: str) -> None:
    """A body that keeps coming is read however long it takes; one that stalls gets 408, unrecorded."""
    head = f"{method} /b/{bin_id} HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n".encode()
    with connect(server) as sock:
        sock.sendall(head)
        for byte in b"steady":  # 6 x 0.4 s: longer than the timeout in all, never idle that long
            time.sleep(0.4)
            sock.sendall(bytes([byte]))
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert [item["body_size"] for item in stored(server, bin_id)] == [6]

    with connect(server) as sock:
        sock.sendall(head + b"abc")
        received, took = until_closed(sock, BODY_TIMEOUT + MARGIN)
    status, detail = status_and_detail(received)
    assert status == 408
    assert "stalled" in detail
    assert took >= BODY_TIMEOUT * 0.8
    assert len(stored(server, bin_id)) == 1  # the stalled request was not recorded


def test_a_kept_alive_connection_closes_after_the_keep_alive_timeout(
    server: ServerProcess, bin_id: str, method: str
) -> None:
    """Between requests the keep-alive timeout applies, not the (shorter) header deadline (also
    after a hand-over between parsers)."""
    request = f"{method} /b/{bin_id} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode()
    with connect(server) as sock:
        sock.sendall(request)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        time.sleep(HEADER_TIMEOUT + 0.3)  # idle past the header deadline, within keep-alive
        sock.sendall(request)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        received, took = until_closed(sock, KEEP_ALIVE + MARGIN)
    assert received == b""
    assert took >= KEEP_ALIVE * 0.8


def test_a_header_block_past_the_parser_limit_gets_431_and_is_not_recorded(
    server: ServerProcess, bin_id: str, method: str
) -> None:
    """1 MB of headers: refused by the protocol (limit 4 KiB + 16 KiB), whatever the parser; the
    client that keeps sending still reads the answer rather than a reset."""
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"a" * 1000) for n in range(1000))
    with connect(server) as sock:
        sock.sendall(f"{method} /b/{bin_id} HTTP/1.1\r\nHost: x\r\n".encode() + headers + b"\r\n")
        received, _ = until_closed(sock, MARGIN)
    status, detail = status_and_detail(received)
    assert status == 431
    assert "20 KiB" in detail
    assert stored(server, bin_id) == []


SMUGGLING = {
    "CL and TE": b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "TE and CL": b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    "two lengths": b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "a length list": b"Content-Length: 5, 6\r\n\r\nhello!",
    "gzip": b"Transfer-Encoding: gzip\r\n\r\nhello",
    "gzip, chunked": b"Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "chunked twice": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
}


def test_ambiguous_framing_is_refused_before_the_app(server: ServerProcess, bin_id: str, method: str) -> None:
    """Requests two servers could split differently get 400 and a closed connection, and are not
    recorded; sound chunked and Content-Length requests still are."""
    for case, rest in SMUGGLING.items():
        with connect(server) as sock:
            sock.sendall(f"{method} /b/{bin_id} HTTP/1.1\r\nHost: x\r\n".encode() + rest)
            received, _ = until_closed(sock, MARGIN)
        status, detail = status_and_detail(received)
        assert status == 400, case
        assert detail.startswith("Invalid HTTP request: "), case
    with connect(server) as sock:
        sock.sendall(f"{method} /b/{bin_id} HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode())
        received, _ = until_closed(sock, MARGIN)
    assert status_and_detail(received) == (
        400,
        "Invalid HTTP request: Transfer-Encoding is not allowed in an HTTP/1.0 request.",
    )
    for rest in (
        b"Content-Length: 5\r\n\r\nhello",
        b"Transfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ):
        with connect(server) as sock:
            sock.sendall(f"{method} /b/{bin_id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode() + rest)
            received, _ = until_closed(sock, MARGIN)
        assert received.startswith(b"HTTP/1.1 200 ")
    assert [item["body_size"] for item in stored(server, bin_id)] == [5, 5]


@pytest.mark.parametrize(
    ("version", "headers", "problem"),
    [
        ("1.1", [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")], "both"),
        ("1.1", [(b"content-length", b"5"), (b"content-length", b"6")], "conflicting"),
        ("1.1", [(b"content-length", b"5, 6")], "conflicting"),
        ("1.1", [(b"transfer-encoding", b"gzip, chunked")], "single 'chunked'"),
        ("1.1", [(b"transfer-encoding", b"chunked"), (b"transfer-encoding", b"chunked")], "single"),
        ("1.0", [(b"transfer-encoding", b"chunked")], "HTTP/1.0"),
        ("1.1", [(b"content-length", b"5"), (b"content-length", b" 5")], None),
        ("1.1", [(b"transfer-encoding", b" Chunked ")], None),
        ("1.1", [(b"x-transfer-encoding", b"gzip"), (b"content-length", b"0")], None),
        ("1.0", [], None),
    ],
)
def test_framing_problem(version: str, headers: list[tuple[bytes, bytes]], problem: str | None) -> None:
    found = framing_problem(version, headers)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def request(
    method: str, target: str, body: bytes = b"", *, chunked: bool = False, close: bool = False
) -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: x\r\n"
    if close:
        head += "Connection: close\r\n"
    if chunked:
        middle = len(body) // 2
        parts = [part for part in (body[:middle], body[middle:]) if part]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + framed + b"0\r\n\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def answers(received: bytes) -> list[int]:
    """The status of each response in what a connection received (the capture's bodies are JSON)."""
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", received)]


def test_pipelined_requests_are_answered_in_order_and_captured_exactly(
    server: ServerProcess, bin_id: str, method: str, path: tuple[str, str]
) -> None:
    """Six requests in one write, mixing parsers, bodies and chunking: six answers in order."""
    other = other_method(path)
    # A body that looks like the end of a message and the start of another must not fool anyone.
    tricky = b"0\r\n\r\nFOO /x HTTP/1.1\r\n\r\n"
    sent = [
        (method, "/1", b"first", False),
        ("POST", "/2", tricky, True),
        (other, "/3", tricky, False),
        (method, "/4", b"chunk\r\n\r\ned", True),
        (other, "/5", b"", True),
        ("POST", "/6", b"last", False),
    ]
    data = b"".join(
        request(m, f"/b/{bin_id}{sub}", body, chunked=chunked, close=sub == "/6")
        for m, sub, body, chunked in sent
    )
    with connect(server) as sock:
        sock.sendall(data)
        received, _ = until_closed(sock, 10)
    assert answers(received) == [200] * 6
    assert stored_in_order(server, bin_id) == [(m, sub, body) for m, sub, body, _ in sent]


def test_a_message_end_split_across_reads_anywhere(
    server: ServerProcess, bin_id: str, method: str, path: tuple[str, str]
) -> None:
    """The end of a chunked body (and the start of the next request) split at every byte."""
    first = request(method, f"/b/{bin_id}/a", b"abcdef", chunked=True)
    second = request(other_method(path), f"/b/{bin_id}/b", b"xy", close=True)
    data = first + second
    splits = range(len(first) - 8, len(first) + 5)
    for split in splits:
        with connect(server) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(data[:split])
            time.sleep(0.05)  # two reads on the server
            sock.sendall(data[split:])
            received, _ = until_closed(sock, 10)
        assert answers(received) == [200, 200], split
    expected = [(method, "/a", b"abcdef"), (other_method(path), "/b", b"xy")] * len(splits)
    assert stored_in_order(server, bin_id) == expected


def test_expect_100_continue(server: ServerProcess, bin_id: str, method: str) -> None:
    """The body is asked for (100 Continue) before it is sent, then captured; the connection stays open."""
    with connect(server) as sock:
        for n in range(2):
            sock.sendall(
                f"{method} /b/{bin_id}/{n} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Content-Length: 5\r\n\r\n".encode()
            )
            interim = b""
            while not interim.endswith(b"\r\n\r\n"):
                chunk = sock.recv(1)
                assert chunk, interim
                interim += chunk
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            sock.sendall(b"hello")
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
    assert stored_in_order(server, bin_id) == [(method, "/0", b"hello"), (method, "/1", b"hello")]


# The same malformed header, worded differently by each parser: it shows which one read a request.
BAD_HEADER = b"X-Bad : value\r\n\r\n"
LLHTTP_SAYS = "Invalid HTTP request: Invalid header token."
H11_SAYS = "Invalid HTTP request: illegal header line: bytearray(b'X-Bad : value')."


@pytest.mark.parametrize(
    ("http", "method", "parser"),
    [
        ("auto", "POST", LLHTTP_SAYS),
        ("auto", "PROPFIND", LLHTTP_SAYS),
        ("auto", "FOO", LLHTTP_SAYS),
        ("auto", "get", LLHTTP_SAYS),
        ("auto", H11_METHOD, H11_SAYS),
        ("auto", "CONNECT", H11_SAYS),
        ("h11", "POST", H11_SAYS),
        ("httptools", "POST", LLHTTP_SAYS),
    ],
)
def test_which_parser_reads_a_request(
    server_for: Callable[[str], ServerProcess], http: str, method: str, parser: str
) -> None:
    """auto reads every method token with llhttp (one it does not know through a stand-in), what llhttp
    cannot read that way with h11, and goes back after one."""
    server = server_for(http)
    bin_id = httpx.post(f"{server.url}/api/bins").json()["id"]
    with connect(server) as sock:
        sock.sendall(f"{method} /b/{bin_id} HTTP/1.1\r\nHost: x\r\n".encode() + BAD_HEADER)
        assert status_and_detail(until_closed(sock, MARGIN)[0]) == (400, parser)
    # After a request on the other parser, the next one on the connection is read by the first.
    with connect(server) as sock:
        sock.sendall(
            request(H11_METHOD, f"/b/{bin_id}") + f"{method} /b/{bin_id} HTTP/1.1\r\n".encode() + BAD_HEADER
        )
        received, _ = until_closed(sock, MARGIN)
    if http == "httptools":
        assert status_and_detail(received)[0] == 400  # llhttp alone refuses a method it does not know
        return
    first, _, second = received.partition(b"HTTP/1.1 400 ")
    assert answers(first) == [200]
    assert status_and_detail(b"HTTP/1.1 400 " + second) == (400, parser)


def test_upgrade_requests_keep_their_body(
    server: ServerProcess, bin_id: str, method: str, path: tuple[str, str]
) -> None:
    """llhttp would take an Upgrade request as a protocol switch and drop its body; nothing here
    switches protocols, so it is captured like any other and the connection carries on."""
    if path[0] == "httptools":
        pytest.skip("--http httptools is llhttp alone: it drops an Upgrade request's body (documented)")
    upgrade = (
        f"{method} /b/{bin_id}/up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nContent-Length: 4\r\n\r\nbody"
    ).encode()
    with connect(server) as sock:
        sock.sendall(upgrade + request(method, f"/b/{bin_id}/next", b"more", close=True))
        received, _ = until_closed(sock, 10)
    assert answers(received) == [200, 200]
    assert stored_in_order(server, bin_id) == [(method, "/up", b"body"), (method, "/next", b"more")]


def test_a_request_start_split_across_reads(
    server: ServerProcess, bin_id: str, method: str, path: tuple[str, str]
) -> None:
    """A method token cut short by a read (the parser is chosen only once it is whole), after the
    empty line some clients send after a body (skipped, as llhttp does; h11 alone refuses it)."""
    first = request(method, f"/b/{bin_id}/a", b"1") + b"\r\n"
    second = request(other_method(path), f"/b/{bin_id}/b", b"2", close=True)
    splits = range(len(first) - 2, len(first) + len(other_method(path)) + 2)
    for split in splits:
        data = first + second
        with connect(server) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(data[:split])
            time.sleep(0.05)  # two reads on the server
            sock.sendall(data[split:])
            received, _ = until_closed(sock, 10)
        if path[0] == "h11":
            assert answers(received)[0] == 200, split  # h11 refuses the empty line: nothing more
            continue
        assert answers(received) == [200, 200], split
    if path[0] != "h11":
        expected = [(method, "/a", b"1"), (other_method(path), "/b", b"2")] * len(splits)
        assert stored_in_order(server, bin_id) == expected


# The protocols in this process, over a transport that records what they do: what a connection
# costs (objects built, socket writes) cannot be seen from the other end of a socket.

ANSWER = b'{"ok":true}'


async def small_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the body and answers like the capture path (a small JSON body with a Content-Length,
    through ASGI's send or, at /respond, the server's RESPOND extension), or streams (/stream: no
    Content-Length, the body when `release` is set), or fails (/fail)."""
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    if "methods" in scope["state"]:
        scope["state"]["methods"].append(scope["method"])
    if scope["path"] == "/respond":  # the capture app's way: the whole answer in one call
        respond = scope["extensions"][RESPOND]
        await respond(200, [(b"content-type", b"application/json"), (b"content-length", b"11")], ANSWER)
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await scope["state"]["release"].wait()
        await send({"type": "http.response.body", "body": ANSWER})
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["path"] == "/fail":
        raise RuntimeError("the application failed after starting its answer")
    await send({"type": "http.response.body", "body": ANSWER})


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.protocols: list[asyncio.BaseProtocol] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if data:
            self.writes.append(bytes(data))

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocols.append(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocols[-1]

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False

    def answers(self) -> int:
        return b"".join(self.writes).count(ANSWER)


class CountingLoop:
    """The running loop, counting the timers started on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.timers = 0

    def call_at(self, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        self.timers += 1
        return self._loop.call_at(*args, **kwargs)

    def call_later(self, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        self.timers += 1
        return self._loop.call_later(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)


def connected(
    app_state: dict[str, Any] | None = None, loop: Any = None
) -> tuple[RecordingTransport, Any, ServerState]:
    """A `--http auto` protocol with a connection, serving `small_app`."""
    config = uvicorn.Config(small_app, log_config=None, ws="none", lifespan="off")
    config.limits = ConnectionLimits()  # type: ignore[attr-defined]
    config.load()
    state = ServerState()
    protocol = PROTOCOLS["auto"](config, state, app_state or {}, loop or asyncio.get_running_loop())  # type: ignore[call-arg]
    transport = RecordingTransport()
    transport.set_protocol(protocol)
    protocol.connection_made(transport)
    return transport, protocol, state


async def exchange(transport: RecordingTransport, data: bytes, answers: int) -> None:
    """Feed `data` to whichever protocol has the connection; wait until `answers` answers are out."""
    transport.get_protocol().data_received(data)  # type: ignore[attr-defined]
    for _ in range(200):
        if transport.answers() >= answers:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{transport.answers()} answers, not {answers}: {transport.writes!r}")


@pytest.mark.parametrize(
    ("data", "start", "end"),
    [
        (b"POST /x", 0, 4),
        (b"\r\nFOO /x", 2, 5),
        (b"get /", 0, 3),
        (b"!#$%&'*+-.^_`|~09Az /", 0, 19),
        (b"X" * MAX_STAND_IN + b" /", 0, MAX_STAND_IN),
        (b"PROPF", 0, None),  # a token's end has not arrived yet
        (b"", 0, None),
        (b"X" * MAX_STAND_IN, 0, None),
        (b"X" * (MAX_STAND_IN + 1), 0, -1),  # longer than the fast path waits for
        (H11_METHOD.encode() + b" /", 0, -1),
        (b"CONNECT example.test:443 HTTP/1.1", 0, -1),
        (b"G@T /", 0, -1),
        (b" /x", 0, -1),
        (b"FOO\t/x", 0, -1),
    ],
)
def test_method_end(data: bytes, start: int, end: int | None) -> None:
    assert method_end(data, start) == end


async def test_a_method_llhttp_does_not_know_stays_on_llhttp_under_a_stand_in() -> None:
    """FOO, lowercase get and other tokens llhttp does not take are read by it all the same, with a
    stand-in in their place: no hand-over, and the application sees each token as sent."""
    seen: list[str] = []
    transport, fast, _ = connected({"methods": seen})
    methods = ["FOO", "get", "PROPFIND", "Post", "X", "!#$%&'*+-.^_`|~09Az", "POST", "head"]
    for answered, method in enumerate(methods, 1):
        await exchange(transport, request(method, "/x", b"hi"), answered)
    assert seen == methods
    assert transport.protocols == [fast]


async def test_a_connection_keeps_one_protocol_of_each_kind_across_hand_overs() -> None:
    """A request for h11 takes the connection there and back: the same two protocol objects every
    time (a hand-over that builds a uvicorn protocol costs about as much as parsing the request)."""
    transport, fast, state = connected()
    methods = ["POST", H11_METHOD, "POST", H11_METHOD, H11_METHOD, "PROPFIND", H11_METHOD]
    for answered, method in enumerate(methods, 1):
        await exchange(transport, request(method, "/x", b"hi"), answered)
    assert b"".join(transport.writes).count(b"HTTP/1.1 200 ") == len(methods)
    # The four requests h11 read went there and back (the connection comes back once answered).
    assert len(transport.protocols) == 1 + 2 * 4
    assert len(set(map(id, transport.protocols))) == 2
    assert transport.get_protocol() is fast
    assert state.connections == {fast}


async def test_requests_on_a_kept_alive_connection_start_no_timers() -> None:
    """The head and body deadlines and the keep-alive timeout move one timer per connection, which
    is restarted only when it would fire late: uvicorn's own keep-alive started a timer after each
    answer, for the next request to cancel."""
    loop = CountingLoop(asyncio.get_running_loop())
    transport, _, _ = connected(loop=loop)
    for answered in range(1, 3):
        await exchange(transport, request("POST", "/x", b"hi"), answered)
    settled = loop.timers
    for answered in range(3, 23):
        await exchange(transport, request("POST", "/respond" if answered % 2 else "/x", b"hi"), answered)
    assert loop.timers == settled


async def test_a_response_head_leaves_with_its_body() -> None:
    """A small answer is one write (one send on the socket), not a head and then a body."""
    transport, _, _ = connected()
    await exchange(transport, request("POST", "/x", b"hi"), 1)
    (answer,) = transport.writes
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\n" + ANSWER)
    # 100 Continue goes out at once, before the body it asks for; then the answer in one write.
    transport.writes.clear()
    head = b"POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    transport.get_protocol().data_received(head)  # type: ignore[attr-defined]
    for _ in range(20):
        await asyncio.sleep(0)
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    await exchange(transport, b"hi", 1)
    assert len(transport.writes) == 2 and transport.writes[1].endswith(ANSWER)


async def test_a_whole_answer_leaves_in_one_write_as_send_would_write_it() -> None:
    """RESPOND writes what ASGI's send writes for the same answer, in one write; it leaves the body
    out for HEAD, says and does close when the client asked, and lets pipelined requests go on."""
    transport, _, state = connected()
    await exchange(transport, request("POST", "/x", b"hi"), 1)
    await exchange(transport, request("POST", "/respond", b"hi"), 2)
    by_send, by_respond = transport.writes
    assert by_respond == by_send  # the same head and body

    transport.writes.clear()
    transport.get_protocol().data_received(b"HEAD /respond HTTP/1.1\r\nHost: x\r\n\r\n")  # type: ignore[attr-defined]
    for _ in range(20):
        await asyncio.sleep(0)
    (head,) = transport.writes
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"content-length: 11\r\n\r\n")

    transport.writes.clear()
    pipelined = request("POST", "/respond", b"1") + request("POST", "/respond", b"2", close=True)
    await exchange(transport, pipelined, 2)
    first, second = transport.writes
    assert b"connection: close" not in first and first.endswith(ANSWER)
    assert b"\r\nconnection: close\r\n" in second and second.endswith(ANSWER)
    assert transport.closed
    assert state.total_requests == 5


async def test_a_response_head_is_not_held_when_no_body_write_may_follow_soon() -> None:
    """Held only for a body that must follow: not for a streamed (chunked) body, not for HEAD, and
    what an application wrote before failing goes out before the connection closes."""
    release = asyncio.Event()
    transport, _, _ = connected({"release": release})
    transport.get_protocol().data_received(request("POST", "/stream", b"hi"))  # type: ignore[attr-defined]
    for _ in range(20):
        await asyncio.sleep(0)
    (head,) = transport.writes
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"transfer-encoding: chunked" in head
    release.set()
    await exchange(transport, b"", 1)

    transport.writes.clear()
    transport.get_protocol().data_received(b"HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n")  # type: ignore[attr-defined]
    for _ in range(20):
        await asyncio.sleep(0)
    (head,) = transport.writes
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: 11" in head

    transport.writes.clear()
    transport.get_protocol().data_received(request("POST", "/fail", b"hi"))  # type: ignore[attr-defined]
    for _ in range(20):
        await asyncio.sleep(0)
    (head,) = transport.writes
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
    assert transport.closed
