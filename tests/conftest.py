"""Shared fixtures: real Webhook Inspector server processes on free ports, and HTTP helpers."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest


def require_service(name: str, port: int, host: str = "127.0.0.1") -> None:
    """Skip, saying why, when a service the test needs is not running; under CI (which starts it) fail.

    The README's test command must work on a machine with only Python: PostgreSQL and Redis tests
    then skip, and .ci/run starts both so that they run there.
    """
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError as exc:
        message = f"{name} is not running on {host}:{port} ({exc}): its tests need it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


# The Redis the scale-out tests use (started by .ci/run); each test keeps to a prefix of its own.
REDIS_URL = "redis://127.0.0.1:6379/0"
# A method token the default server (`--http auto`) reads with h11: every token up to MAX_STAND_IN
# bytes is read by llhttp (inspector/server.py), so the h11 side is tested with a longer one.
H11_METHOD = "LONGER-THAN-ANY-REGISTERED-METHOD"


def unique_prefix() -> str:
    """A Redis key and channel prefix no other test uses."""
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def redis_required() -> None:
    require_service("Redis", 6379)


@pytest.fixture
async def redis(redis_required: None) -> AsyncIterator[Any]:
    """A plain client of the test Redis, to look at and act on what the adapters do."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`python -m inspector serve` in a child process, as a user would run it."""

    def __init__(
        self,
        db_path: Path,
        *args: str,
        env: dict[str, str] | None = None,
        port: int | None = None,
        file_size_limit: int | None = None,
    ):
        self.db_path = db_path
        # RLIMIT_FSIZE for the server: writes past it fail as on a full disk (Python ignores SIGXFSZ).
        self.file_size_limit = file_size_limit
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = db_path.with_name(f"{db_path.stem}-{self.port}.log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> ServerProcess:
        command = [sys.executable, "-m", "inspector", "serve", "--port", str(self.port)]
        command += ["--db", str(self.db_path), "--log-format", "json", *self.args]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self.env, preexec_fn=self._limits
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become healthy in {timeout} s:\n{self.log}")

    def _limits(self) -> None:
        if self.file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size_limit, self.file_size_limit))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server shared by the tests that only need bins of their own."""
    process = ServerProcess(tmp_path_factory.mktemp("server") / "inspector.db", "--max-body-size", "64KiB")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start servers of a test's own (for restarts, kills and special settings); all stopped at the end."""
    started: list[ServerProcess] = []

    def start(*args: str, db_path: Path | None = None, **kwargs: object) -> ServerProcess:
        process = ServerProcess(db_path or tmp_path / "inspector.db", *args, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process.start()

    yield start
    for process in started:
        if process.process and process.process.poll() is None:
            process.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture
def bin_id(client: httpx.Client) -> str:
    response = client.post("/api/bins")
    assert response.status_code == 201, response.text
    return response.json()["id"]


def send_raw(url: str, data: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are over a fresh TCP connection and return everything the server answers.

    HTTP clients normalise paths and headers; this sends exactly what a test writes.
    """
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                break
        return b"".join(chunks)


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


@pytest.fixture
def raw_http() -> Callable[[str, bytes], bytes]:
    return send_raw


def read_sse(response: httpx.Response) -> Iterator[dict[str, str]]:
    """Server-sent events from a streaming response, as dicts of their fields (comments as "comment")."""
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            event[name] = f"{event[name]}\n{value}" if name in event else value


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these chromium keeps calling home, and this machine's closed network refuses it.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("INSPECTOR_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright; the dashboard tests skip, saying why, without it.

    Module-scoped: Playwright's sync API keeps an event loop running in this thread while it is
    open, which would break tests elsewhere that run their own loop.
    """
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "chromium is not installed (apt-get install -y chromium): the dashboard tests need a real browser"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.dialogs = []  # every alert/confirm the page opens, for the tests to inspect
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.accept()))
    page.set_default_timeout(10_000)
    yield page
    context.close()


# --- a target that records exactly what it received ----------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived at the target, byte for byte."""

    request_line: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def method(self) -> str:
        return self.request_line.split(b" ")[0].decode()

    @property
    def target(self) -> str:
        return self.request_line.split(b" ")[1].decode("latin-1")

    def header_list(self) -> list[tuple[str, str]]:
        return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in self.headers]


Reply = tuple[int, list[tuple[str, str]], bytes]
# A respond function returning HANG makes the target read the request and never answer.
HANG = None


class RecordingTarget:
    """A small HTTP/1.1 server on 127.0.0.1 that keeps the exact bytes of every request it gets.

    Raw sockets on purpose: an HTTP library would merge or reorder headers on the way in, which
    is precisely what the tests need to see. Keep-alive is honoured so pooled clients work.
    """

    def __init__(self, respond: Callable[[Recorded], Reply | None] | None = None, port: int = 0) -> None:
        self.respond = respond or (lambda recorded: (200, [("Content-Type", "text/plain")], b"ok"))
        self.requests: list[Recorded] = []
        self.connections = 0
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._listener = socket.socket()
        # A fixed port lets a test bring "the same" target back after a while.
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(10)
        buffer = b""
        with connection:
            for _ in range(10_000):  # requests on one kept-alive connection
                try:
                    while b"\r\n\r\n" not in buffer:
                        if buffer and not buffer[:1].isalpha():
                            # Not HTTP (a TLS handshake, say): answer like a plain server would.
                            connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                            return
                        chunk = connection.recv(65536)
                        if not chunk or len(buffer) > 1 << 20:
                            return
                        buffer += chunk
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    request_line, *lines = head.split(b"\r\n")
                    headers = [tuple(part.strip() for part in line.split(b":", 1)) for line in lines]
                    length = next((int(v) for k, v in headers if k.lower() == b"content-length"), 0)
                    while len(buffer) < length:
                        chunk = connection.recv(65536)
                        if not chunk:
                            return
                        buffer += chunk
                    body, buffer = buffer[:length], buffer[length:]
                except OSError:
                    return
                recorded = Recorded(request_line, headers, body)  # type: ignore[arg-type]
                with self._changed:
                    self.requests.append(recorded)
                    self._changed.notify_all()
                reply = self.respond(recorded)
                if reply is HANG:
                    self._stopping.wait(30)
                    return
                status, reply_headers, reply_body = reply
                lines = [f"HTTP/1.1 {status} Whatever".encode()]
                lines += [f"{k}: {v}".encode("latin-1") for k, v in reply_headers]
                if not any(k.lower() == "content-length" for k, _ in reply_headers):
                    lines.append(f"Content-Length: {len(reply_body)}".encode())
                try:
                    connection.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + reply_body)
                except OSError:
                    return
                if any(k.lower() == b"connection" and v.lower() == b"close" for k, v in headers):
                    return

    def wait_for(self, count: int, timeout: float = 30) -> list[Recorded]:
        """The first `count` requests, waiting at most `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"the target got {len(self.requests)} requests, not {count}")
                self._changed.wait(remaining)
            return list(self.requests)

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()
        self._thread.join(5)


@pytest.fixture
def target() -> Iterator[RecordingTarget]:
    recording = RecordingTarget()
    yield recording
    recording.close()


def closed_at_end() -> Iterator[Callable[..., RecordingTarget]]:
    """Body of a fixture making targets with a respond function of the test's own; all closed at the end."""
    made: list[RecordingTarget] = []

    def make(respond: Callable[[Recorded], Reply | None] | None = None, port: int = 0) -> RecordingTarget:
        made.append(RecordingTarget(respond, port))
        return made[-1]

    yield make
    for recording in made:
        recording.close()


@pytest.fixture
def recording_target() -> Iterator[Callable[..., RecordingTarget]]:
    yield from closed_at_end()


# --- smee-client, the real one from npm ------------------------------------------------------------


@pytest.fixture(scope="session")
def smee_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real smee-client from npm (version 5), installed once for the test session."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm is not installed: the smee-client compatibility tests need it")
    folder = tmp_path_factory.mktemp("smee")
    install = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), "smee-client@5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if install.returncode != 0:
        pytest.skip(f"npm could not install smee-client: {install.stderr[-500:]}")
    return folder / "node_modules" / "smee-client" / "bin" / "smee.js"
