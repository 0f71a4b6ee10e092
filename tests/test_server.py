"""The hardened HTTP protocols over raw sockets, on both parsers: deadlines, head limit, strict framing."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from conftest import ServerProcess, _complete

from inspector.server import framing_problem

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
KEEP_ALIVE = 2.0
# Slack for a shared, busy machine: a deadline must fire no later than this after it is due.
MARGIN = 2.0


@pytest.fixture(scope="module", params=["h11", "httptools"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server per parser, with deadlines short enough to test (this module's own `server`)."""
    process = ServerProcess(
        tmp_path_factory.mktemp(request.param) / "inspector.db",
        *("--http", request.param),
        *("--header-timeout", str(HEADER_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT)),
        *("--keep-alive-timeout", str(KEEP_ALIVE), "--max-header-bytes", "4KiB"),
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
def bin_id(server: ServerProcess) -> str:
    return httpx.post(f"{server.url}/api/bins").json()["id"]


def stored(server: ServerProcess, bin_id: str) -> list[dict]:
    return httpx.get(f"{server.url}/api/bins/{bin_id}/requests").json()["items"]


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


def test_a_trickled_request_head_gets_408_when_its_time_is_up(server: ServerProcess) -> None:
    """Slowloris: a half-sent request line, then a header byte now and then; bytes do not buy time."""
    with connect(server) as sock:
        sock.sendall(b"POST /b/x HTTP/1.1\r\nX-Slow: ")
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


def test_the_body_timeout_is_an_idle_gap(server: ServerProcess, bin_id: str) -> None:
    """A body that keeps coming is read however long it takes; one that stalls gets 408, unrecorded."""
    head = f"POST /b/{bin_id} HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n".encode()
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


def test_a_kept_alive_connection_closes_after_the_keep_alive_timeout(server: ServerProcess) -> None:
    """Between requests the keep-alive timeout applies, not the (shorter) header deadline."""
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
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
    server: ServerProcess, bin_id: str
) -> None:
    """1 MB of headers: refused by the protocol (limit 4 KiB + 16 KiB), whatever the parser; the
    client that keeps sending still reads the answer rather than a reset."""
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"a" * 1000) for n in range(1000))
    with connect(server) as sock:
        sock.sendall(f"POST /b/{bin_id} HTTP/1.1\r\nHost: x\r\n".encode() + headers + b"\r\n")
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


def test_ambiguous_framing_is_refused_before_the_app(server: ServerProcess, bin_id: str) -> None:
    """Requests two servers could split differently get 400 and a closed connection, and are not
    recorded; sound chunked and Content-Length requests still are."""
    for case, rest in SMUGGLING.items():
        with connect(server) as sock:
            sock.sendall(f"POST /b/{bin_id} HTTP/1.1\r\nHost: x\r\n".encode() + rest)
            received, _ = until_closed(sock, MARGIN)
        status, detail = status_and_detail(received)
        assert status == 400, case
        assert detail.startswith("Invalid HTTP request: "), case
    with connect(server) as sock:
        sock.sendall(f"POST /b/{bin_id} HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode())
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
            sock.sendall(f"POST /b/{bin_id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode() + rest)
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
