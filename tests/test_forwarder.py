"""`inspector forward` as users run it: a real server, a real recording target, the command as a process."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from conftest import Recorded, RecordingTarget, Reply, ServerProcess, closed_at_end, send_raw

from inspector.forwarder import parse_bin_url
from inspector.targets import expand_local_target

# HH:MM:SS  #ID  METHOD /path?query  -> STATUS or error  N ms  (note)
LINE = re.compile(
    r"^\d\d:\d\d:\d\d  #(?P<id>\d+)  (?P<method>\S+) (?P<path>\S+)  -> (?P<outcome>.+?)  \d+ ms(  \(.+\))?$"
)


class ForwarderProcess:
    """`python -m inspector forward ...` with its output collected line by line as it comes."""

    def __init__(self, *args: str, state_home: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "inspector", "forward", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # The default state files go under XDG_STATE_HOME: the test's own, not the user's.
            env={**os.environ, "PYTHONUNBUFFERED": "1", "XDG_STATE_HOME": str(state_home)},
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = threading.Condition()
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True).start()

    def _collect(self, stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, text: str, *, count: int = 1, timeout: float = 30) -> None:
        """Wait until `text` has appeared on standard error `count` times."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(text in line for line in self.err) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"{text!r} did not appear; stderr: {self.err}; stdout: {self.out}")
                self._changed.wait(min(remaining, 0.2))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        time.sleep(0.1)  # let the readers take the last lines
        return code

    def deliveries(self) -> list[re.Match[str]]:
        matches = [LINE.match(line) for line in self.out]
        assert all(matches), f"lines of the wrong shape: {self.out}"
        return matches  # type: ignore[return-value]


@pytest.fixture
def state_home(tmp_path: Path) -> Path:
    """XDG_STATE_HOME of the forwarders a test starts: their default state files go here."""
    return tmp_path / "state-home"


@pytest.fixture
def forwarder(state_home: Path) -> Iterator[Callable[..., ForwarderProcess]]:
    started: list[ForwarderProcess] = []

    def start(*args: str) -> ForwarderProcess:
        started.append(ForwarderProcess(*args, state_home=state_home))
        return started[-1]

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait(10)


@pytest.fixture
def recording_target() -> Iterator[Callable[..., RecordingTarget]]:
    yield from closed_at_end()


def new_bin(server: ServerProcess) -> str:
    response = httpx.post(f"{server.url}/api/bins", timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def send(server: ServerProcess, bin_id: str, n: int) -> int:
    """Capture request number `n` (a marker in its sub-path and body); returns its id."""
    response = httpx.post(
        f"{server.url}/b/{bin_id}/n/{n}?n={n}",
        content=f"marker {n}".encode(),
        headers=[("X-Seq", str(n)), ("Content-Type", "text/plain")],
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return int(response.headers["x-inspector-request-id"])


def line_id(process: ForwarderProcess, timeout: float = 10) -> int:
    """The request id of the forwarder's first delivery line."""
    deadline = time.monotonic() + timeout
    while not process.out and time.monotonic() < deadline:
        time.sleep(0.05)
    return int(process.deliveries()[0]["id"])


def markers(requests: list[Recorded]) -> list[int]:
    return [int(request.body.removeprefix(b"marker ")) for request in requests]


# --- the command line ----------------------------------------------------------------------------


def test_help_lists_every_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "forward", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for option in [
        "BIN_URL",
        "--to",
        "--since",
        "--token",
        "INSPECTOR_TOKEN",
        "--timeout",
        "--attempts",
        "--state",
        "--path",
        "--new",
        "at least once",
        "Idempotency-Key",
        "X-Forwarded-For",
    ]:
        assert option in result.stdout
    top = subprocess.run(
        [sys.executable, "-m", "inspector", "--help"], capture_output=True, text=True, timeout=60
    )
    assert "forward" in top.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://127.0.0.1:1/nothing", "--to", "http://127.0.0.1:2/"], "is not a bin URL"),
        (["http://127.0.0.1:1/b/x", "--to", "ftp://127.0.0.1:2/"], "must be an http:// or https:// URL"),
        (["http://127.0.0.1:1/b/x", "--to", "http://0177.0.0.1:2/"], "ambiguous IPv4 form: write 127.0.0.1"),
        (
            ["http://127.0.0.1:1/b/x", "--to", "http://127.0.0.1:2/", "--since", "yesterday"],
            "neither 'all' nor",
        ),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "forward", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/b/abc", ("http://127.0.0.1:8000", "abc")),
        ("http://127.0.0.1:8000/b/abc/github/push?x=1", ("http://127.0.0.1:8000", "abc")),
        ("https://hooks.example.com/bins/abc", ("https://hooks.example.com", "abc")),
        ("https://hooks.example.com/bins/abc/requests/7", ("https://hooks.example.com", "abc")),
        ("http://h:1/api/bins/abc/stream", ("http://h:1", "abc")),
        ("https://example.com/inspector/b/abc/", ("https://example.com/inspector", "abc")),
    ],
)
def test_bin_urls(url: str, expected: tuple[str, str]) -> None:
    assert parse_bin_url(url) == expected


@pytest.mark.parametrize("url", ["ftp://h/b/abc", "http://h/", "http://h/b/", "h/b/abc"])
def test_not_bin_urls(url: str) -> None:
    with pytest.raises(ValueError, match="not"):
        parse_bin_url(url)


# --- delivering ------------------------------------------------------------------------------------


def test_delivers_new_captures_byte_exact(
    start_server: Callable[..., ServerProcess],
    recording_target: Callable[..., RecordingTarget],
    forwarder: Callable[..., ForwarderProcess],
) -> None:
    server = start_server()
    bin_id = new_bin(server)
    send(server, bin_id, 0)  # before the forwarder starts: not delivered by default
    target = recording_target()
    process = forwarder(f"{server.url}/bins/{bin_id}", "--to", f"{target.url}/hook")
    process.wait_for("forwarding")

    body = gzip.compress(b'{"binary": "\x00\xff"}' * 20, mtime=0) + b"\x00\xff"
    raw = (
        f"PATCH /b/{bin_id}/stripe/events?b=2&a=1&a=%20 HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "X-Dup: one\r\nContent-Encoding: gzip\r\nConnection: keep-alive\r\nX-Dup: two\r\n"
        f"Stripe-Signature: t=1,v1=abc\r\nX-Dup: three\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    assert send_raw(server.url, raw).startswith(b"HTTP/1.1 200")

    [received] = target.wait_for(1)
    assert received.request_line == b"PATCH /hook/stripe/events?b=2&a=1&a=%20 HTTP/1.1"
    # Names as the sender spelt them (the capture keeps their case).
    assert received.header_list() == [
        ("Host", f"127.0.0.1:{target.port}"),
        ("X-Dup", "one"),
        ("Content-Encoding", "gzip"),
        ("X-Dup", "two"),
        ("Stripe-Signature", "t=1,v1=abc"),
        ("X-Dup", "three"),
        ("Content-Length", str(len(body))),
        ("Idempotency-Key", f"{bin_id}:{line_id(process)}"),
    ]
    assert received.body == body

    assert process.stop() == 0
    assert any("stopped; 1 delivered" in line for line in process.err)
    [line] = process.deliveries()
    assert (line["method"], line["path"], line["outcome"]) == (
        "PATCH",
        "/hook/stripe/events?b=2&a=1&a=%20",
        "200",
    )
    assert len(target.requests) == 1  # the capture from before the start was not delivered


def test_exactly_once_across_a_server_restart(
    start_server: Callable[..., ServerProcess],
    recording_target: Callable[..., RecordingTarget],
    forwarder: Callable[..., ForwarderProcess],
) -> None:
    """A burst, the server stopped and started again in its middle, the rest of the burst: the
    target receives every request once, in order, though the forwarder was behind when the
    server went away."""
    server = start_server()
    bin_id = new_bin(server)

    def slow(recorded: Recorded) -> Reply:
        time.sleep(0.05)  # so the forwarder is still catching up when the server stops
        return 200, [], b"ok"

    target = recording_target(slow)
    process = forwarder(f"{server.url}/b/{bin_id}", "--to", f"{target.url}/hook")
    process.wait_for("forwarding")

    total = 40
    for n in range(total // 2):
        send(server, bin_id, n)
    # uvicorn re-raises SIGTERM once its shutdown is complete.
    assert server.stop() == -signal.SIGTERM
    # Captured while the forwarder is reconnecting: it must fetch these from the store.
    server = start_server(db_path=server.db_path, port=server.port)
    for n in range(total // 2, total):
        send(server, bin_id, n)

    target.wait_for(total, timeout=60)
    time.sleep(1.0)  # anything delivered twice would arrive now
    assert markers(target.requests) == list(range(total))
    process.wait_for("reconnected")
    assert process.stop() == 0
    lines = process.deliveries()
    assert [int(line["id"]) for line in lines] == sorted({int(line["id"]) for line in lines})
    assert [line["path"] for line in lines] == [f"/hook/n/{n}?n={n}" for n in range(total)]


def test_since_all_and_since_id(
    start_server: Callable[..., ServerProcess],
    recording_target: Callable[..., RecordingTarget],
    forwarder: Callable[..., ForwarderProcess],
) -> None:
    server = start_server()
    bin_id = new_bin(server)
    ids = [send(server, bin_id, n) for n in range(3)]

    everything = recording_target()
    first = forwarder(f"{server.url}/b/{bin_id}", "--to", everything.url, "--since", "all")
    first.wait_for("forwarding")
    from_second = recording_target()
    second = forwarder(f"{server.url}/b/{bin_id}", "--to", from_second.url, "--since", str(ids[1]))
    second.wait_for("forwarding")
    send(server, bin_id, 3)

    assert markers(everything.wait_for(4)) == [0, 1, 2, 3]
    assert markers(from_second.wait_for(3)) == [1, 2, 3]
    time.sleep(0.5)
    assert len(everything.requests) == 4 and len(from_second.requests) == 3
    assert first.stop(signal.SIGINT) == 0 and second.stop() == 0  # Ctrl-C, and SIGTERM


def test_failing_deliveries_are_retried(
    start_server: Callable[..., ServerProcess],
    recording_target: Callable[..., RecordingTarget],
    forwarder: Callable[..., ForwarderProcess],
) -> None:
    """A 5xx is tried again after a pause; a request that keeps failing is given up after the
    last attempt, said so, and the next one is delivered."""
    server = start_server()
    bin_id = new_bin(server)
    seen: dict[bytes, int] = {}

    def flaky(recorded: Recorded) -> Reply:
        seen[recorded.body] = seen.get(recorded.body, 0) + 1
        if recorded.body == b"marker 0" and seen[recorded.body] == 1:
            return 503, [], b"busy"
        if recorded.body == b"marker 1":
            return 500, [], b"broken"
        return 200, [], b"ok"

    target = recording_target(flaky)
    process = forwarder(f"{server.url}/b/{bin_id}", "--to", target.url, "--attempts", "2")
    process.wait_for("forwarding")
    for n in range(3):
        send(server, bin_id, n)

    assert markers(target.wait_for(5)) == [0, 0, 1, 1, 2]
    assert process.stop() == 0
    outcomes = [(line["outcome"], line.group(5)) for line in process.deliveries()]
    assert outcomes[0][0] == "503" and "(attempt 1 of 2; retrying in" in outcomes[0][1]
    assert outcomes[1] == ("200", None)
    assert outcomes[2][0] == "500" and "(attempt 1 of 2; retrying in" in outcomes[2][1]
    assert outcomes[3] == ("500", "  (attempt 2 of 2; giving up)")
    assert outcomes[4] == ("200", None)


def test_unreachable_target_is_reported_and_retried(
    start_server: Callable[..., ServerProcess],
    recording_target: Callable[..., RecordingTarget],
    forwarder: Callable[..., ForwarderProcess],
) -> None:
    from conftest import free_port

    server = start_server()
    bin_id = new_bin(server)
    port = free_port()
    process = forwarder(f"{server.url}/b/{bin_id}", "--to", f"http://127.0.0.1:{port}/", "--attempts", "2")
    process.wait_for("forwarding")
    send(server, bin_id, 0)
    deadline = time.monotonic() + 30
    while len(process.out) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.stop() == 0
    lines = process.deliveries()
    assert [line["outcome"] for line in lines] == [f"connection refused by 127.0.0.1:{port}"] * 2
    assert lines[1].group(5) == "  (attempt 2 of 2; giving up)"


def test_state_file_resumes_after_a_forwarder_restart(
    start_server: Callable[..., ServerProcess],
    recording_target: Callable[..., RecordingTarget],
    forwarder: Callable[..., ForwarderProcess],
    tmp_path: Path,
) -> None:
    server = start_server()
    bin_id = new_bin(server)
    target = recording_target()
    state = tmp_path / "forward-state.json"
    args = (f"{server.url}/b/{bin_id}", "--to", target.url, "--state", str(state))

    # Started and stopped before anything arrives: the next start still resumes from here.
    idle = forwarder(*args)
    idle.wait_for("forwarding")
    assert idle.stop() == 0
    send(server, bin_id, 0)

    first = forwarder(*args)
    first.wait_for("forwarding")
    for n in range(1, 2):
        send(server, bin_id, n)
    target.wait_for(2)
    assert first.stop() == 0
    saved = json.loads(state.read_text())
    assert saved["bin"] == bin_id and saved["server"] == server.url

    for n in range(2, 4):  # captured while no forwarder runs
        send(server, bin_id, n)
    second = forwarder(*args)
    second.wait_for("forwarding")
    send(server, bin_id, 4)
    assert markers(target.wait_for(5)) == [0, 1, 2, 3, 4]
    time.sleep(0.5)
    assert len(target.requests) == 5
    assert second.stop() == 0

    other = new_bin(server)
    wrong = subprocess.run(
        [sys.executable, "-m", "inspector", "forward", f"{server.url}/b/{other}", *args[1:]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2 and "is for bin" in wrong.stderr


def test_unknown_bin_stops_with_a_message(
    start_server: Callable[..., ServerProcess], forwarder: Callable[..., ForwarderProcess]
) -> None:
    server = start_server()
    process = forwarder(f"{server.url}/b/no-such-bin", "--to", "http://127.0.0.1:9/")
    assert process.process.wait(30) == 1
    time.sleep(0.1)
    assert any("there is no bin 'no-such-bin'" in line for line in process.err), process.err


def test_stopping_lets_the_delivery_in_flight_finish(
    start_server: Callable[..., ServerProcess],
    recording_target: Callable[..., RecordingTarget],
    forwarder: Callable[..., ForwarderProcess],
    tmp_path: Path,
) -> None:
    server = start_server()
    bin_id = new_bin(server)

    def slow(recorded: Recorded) -> Reply:
        time.sleep(1.0)
        return 202, [], b"accepted"

    target = recording_target(slow)
    state = tmp_path / "state.json"
    process = forwarder(f"{server.url}/b/{bin_id}", "--to", target.url, "--state", str(state))
    process.wait_for("forwarding")
    request_id = send(server, bin_id, 0)
    target.wait_for(1)
    started = time.monotonic()
    assert process.stop() == 0
    assert 0.3 < time.monotonic() - started < 10
    [line] = process.deliveries()
    assert line["outcome"] == "202"
    # Settled, so a restarted forwarder with this state would not send it again.
    assert json.loads(state.read_text())["last_delivered"] == request_id


# --- the guarantee, target forms, --new, what is passed on --------------------------------------------


def test_killed_mid_delivery_then_restarted_delivers_at_least_once_with_a_stable_key(
    start_server: Callable[..., ServerProcess],
    recording_target: Callable[..., RecordingTarget],
    forwarder: Callable[..., ForwarderProcess],
    state_home: Path,
) -> None:
    """SIGKILL while the target holds capture 3, captures made while no forwarder runs, then a
    restart with the default state file: every capture arrives; capture 3, which was in flight,
    twice with the same Idempotency-Key; every other one exactly once."""
    server = start_server()
    bin_id = new_bin(server)
    in_flight = 3
    arrived = threading.Event()
    release = threading.Event()

    def holding(recorded: Recorded) -> Reply:
        if recorded.body == f"marker {in_flight}".encode() and not arrived.is_set():
            arrived.set()
            release.wait(30)  # the forwarder is killed meanwhile: this answer goes nowhere
        return 200, [], b"ok"

    target = recording_target(holding)
    args = (f"{server.url}/b/{bin_id}", "--to", f"{target.url}/hook")
    first = forwarder(*args)
    first.wait_for("forwarding")
    ids = [send(server, bin_id, n) for n in range(6)]
    assert arrived.wait(30)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    release.set()
    ids += [send(server, bin_id, n) for n in range(6, 8)]  # while no forwarder runs

    second = forwarder(*args)
    second.wait_for("resuming after")
    second.wait_for("forwarding")
    target.wait_for(9)
    time.sleep(1.0)  # anything delivered more often would arrive now
    assert second.stop() == 0

    received = markers(target.requests)
    assert sorted(received) == sorted([*range(8), in_flight])
    keys: dict[int, set[str]] = {}
    for recorded in target.requests:
        marker = int(recorded.body.removeprefix(b"marker "))
        keys.setdefault(marker, set()).update(v for k, v in recorded.header_list() if k == "Idempotency-Key")
    assert keys == {n: {f"{bin_id}:{ids[n]}"} for n in range(8)}
    # The default state file, one per bin and target, is where --help says.
    [state] = (state_home / "inspector" / "forward").glob(f"{bin_id}-*.json")
    assert json.loads(state.read_text())["last_delivered"] == ids[-1]


def test_short_target_forms_path_mapping_and_what_is_passed(
    start_server: Callable[..., ServerProcess],
    recording_target: Callable[..., RecordingTarget],
    forwarder: Callable[..., ForwarderProcess],
) -> None:
    """--to PORT --path /hook; dot segments stay under /hook; hop-by-hop and proxy headers stay
    behind; everything else goes as captured."""
    server = start_server()
    bin_id = new_bin(server)
    target = recording_target()
    process = forwarder(f"{server.url}/b/{bin_id}", "--to", str(target.port), "--path", "/hook")
    process.wait_for("forwarding")
    raw = (
        f"POST /b/{bin_id}/a/../../../admin/%2e%2e/x?q=1 HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "X-Forwarded-For: 203.0.113.9\r\nForwarded: for=203.0.113.9\r\nX-Real-IP: 203.0.113.9\r\n"
        "X-Forwarded-Proto: https\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
        "X-Keep: yes\r\nContent-Length: 2\r\n\r\nhi"
    ).encode()
    assert send_raw(server.url, raw).startswith(b"HTTP/1.1 200")
    [received] = target.wait_for(1)
    assert received.request_line == b"POST /hook/x?q=1 HTTP/1.1"
    names = [name.lower() for name, _ in received.header_list()]
    assert names == ["host", "x-keep", "content-length", "idempotency-key"]
    assert dict(received.header_list())["Host"] == f"localhost:{target.port}"
    assert received.body == b"hi"
    assert process.stop() == 0


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("3000", "http://localhost:3000"),
        (":3000/hook", "http://localhost:3000/hook"),
        ("localhost:3000/hook", "http://localhost:3000/hook"),
        ("127.0.0.1:8080/a?x=1", "http://127.0.0.1:8080/a?x=1"),
        ("[::1]:3000/x", "http://[::1]:3000/x"),
        ("http://localhost:3000/hook", "http://localhost:3000/hook"),
        ("https://app.example/hook", "https://app.example/hook"),
    ],
)
def test_target_forms(given: str, url: str) -> None:
    assert expand_local_target(given) == url


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://127.0.0.1:1/b/x", "--to", "70000"], "Port out of range"),
        (["http://127.0.0.1:1/b/x", "--to", "localhost:3000/hook", "--path", "/other"], "give the path once"),
        (["--to", "3000"], "give the bin's URL, or --new"),
    ],
)
def test_target_usage_errors(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "forward", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_new_creates_a_bin_prints_its_url_and_forwards_it(
    start_server: Callable[..., ServerProcess],
    recording_target: Callable[..., RecordingTarget],
    forwarder: Callable[..., ForwarderProcess],
) -> None:
    server = start_server()
    target = recording_target()
    process = forwarder("--new", server.url, "--to", f"127.0.0.1:{target.port}/hook")
    process.wait_for("forwarding")
    [created] = [line for line in process.err if "send webhooks to" in line]
    capture_url = created.rsplit(" ", 1)[1]
    assert capture_url.startswith(f"{server.url}/b/")
    response = httpx.post(f"{capture_url}/github?x=1", content=b"new", timeout=10)
    assert response.status_code == 200
    [received] = target.wait_for(1)
    assert received.request_line == b"POST /hook/github?x=1 HTTP/1.1"
    assert received.body == b"new"
    assert process.stop() == 0
