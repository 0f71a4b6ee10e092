"""Forwarding: follow a bin's live stream and deliver each captured request to a target, at least once."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import os
import random
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import httpx
import msgspec
import platformdirs

from inspector.models import CapturedRequest, Header
from inspector.proxies import PROXY_HEADERS
from inspector.replay import (
    DeliveryResult,
    Outbound,
    Overrides,
    build_outbound,
    confined_path,
    deliver,
    exception_chain,
    make_client,
    should_retry,
)
from inspector.targets import TargetPolicy

# The server pings every 15 s by default; this long without a byte means the connection is dead
# (a laptop that slept, a NAT that forgot us) even if no error was reported.
STREAM_IDLE_TIMEOUT = 60.0
# Reconnecting to the server: 0.5 s, 1, 2, 4, 8, then every 10 s, each with up to 25% jitter.
RECONNECT_FIRST = 0.5
RECONNECT_CAP = 10.0
# Retrying a failed delivery: 1 s, 2, 4, 8, ... at most 10 s apart.
RETRY_FIRST = 1.0
RETRY_CAP = 10.0
DEFAULT_ATTEMPTS = 5
DEFAULT_TIMEOUT = 10.0
# Where the cursor of each bin and target is kept when --state does not say (one file each).
STATE_DIR = platformdirs.user_state_path("inspector", appauthor=False) / "forward"
# Added to every delivery, the same on every repeat of a capture: BIN:ID.
IDEMPOTENCY_HEADER = "Idempotency-Key"


class ForwardError(Exception):
    """A problem that retrying cannot fix (no such bin, access refused); the forwarder stops."""


class _ServerTrouble(Exception):
    """The inspector answered, but not with the stream; worth trying again later."""


class StreamedRequest(msgspec.Struct):
    """A captured request as the JSON API and stream carry it (the fields forwarding needs)."""

    id: int
    bin_id: str
    method: str
    path: str
    sub_path: str
    query: str
    headers: list[Header]
    body: str
    body_encoding: str
    body_size: int | None
    body_sha256: str | None
    client_ip: str | None
    client_port: int | None
    host: str
    scheme: str
    http_version: str
    received_at: datetime
    rejected: str | None = None


def captured_from_json(data: str | bytes) -> CapturedRequest:
    """A CapturedRequest from the JSON of GET /api/bins/{id}/requests/{rid} or a `request` event.

    The body is decoded as its `body_encoding` says and checked against its SHA-256, so what
    is delivered is provably the byte sequence that was captured.
    """
    item = msgspec.json.decode(data, type=StreamedRequest)
    if item.body_encoding == "base64":
        try:
            body = base64.b64decode(item.body, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"request {item.id}: the body is not valid base64 ({exc})") from None
    elif item.body_encoding == "utf-8":
        body = item.body.encode("utf-8")
    else:
        raise ValueError(f"request {item.id}: unknown body_encoding {item.body_encoding!r}")
    if item.rejected is None and item.body_sha256 and hashlib.sha256(body).hexdigest() != item.body_sha256:
        raise ValueError(f"request {item.id}: the body does not match its SHA-256")
    return CapturedRequest(
        id=item.id,
        bin_id=item.bin_id,
        method=item.method,
        path=item.path,
        sub_path=item.sub_path,
        query=item.query,
        headers=[(name, value) for name, value in item.headers],
        body=body,
        body_size=item.body_size,
        body_sha256=item.body_sha256,
        client_ip=item.client_ip,
        client_port=item.client_port,
        host=item.host,
        scheme=item.scheme,
        http_version=item.http_version,
        received_at=item.received_at,
        rejected=item.rejected,
    )


def parse_bin_url(url: str) -> tuple[str, str]:
    """The server's base URL and the bin id from a capture URL (/b/{bin}, sub-paths allowed), a
    dashboard URL (/bins/{bin}) or an API URL (/api/bins/{bin}); a path before them is kept in
    the base, for servers behind a proxy under a prefix.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    segments = parts.path.split("/")
    for index, segment in enumerate(segments[:-1]):
        if segment in ("b", "bins") and segments[index + 1]:
            prefix = segments[:index]
            if segment == "bins" and prefix and prefix[-1] == "api":
                prefix = prefix[:-1]
            return f"{parts.scheme}://{parts.netloc}{'/'.join(prefix)}", segments[index + 1]
    raise ValueError(f"{url!r} is not a bin URL: expected .../b/BIN (the capture URL) or .../bins/BIN")


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None


async def read_events(lines: AsyncIterator[str]) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events from a stream's lines; comments (keep-alive pings) are skipped."""
    name, data, ident = "message", list[str](), None
    async for line in lines:
        if line == "":
            if data:
                yield ServerSentEvent(name, "\n".join(data), ident)
            name, data, ident = "message", [], None
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
            elif key == "id":
                ident = value


def default_state_path(server: str, bin_id: str, target: str) -> Path:
    """The state file of one bin (on one server) forwarded to one target, under STATE_DIR."""
    digest = hashlib.sha256(f"{server}\n{bin_id}\n{target}".encode()).hexdigest()[:16]
    return STATE_DIR / f"{bin_id}-{digest}.json"


def idempotency_key(captured: CapturedRequest) -> str:
    """The key a capture is delivered with, every time: the bin and the request id."""
    return f"{captured.bin_id}:{captured.id}"


def forwarded_request(captured: CapturedRequest, target: str) -> Outbound:
    """What the forwarder sends to `target` for a capture.

    As replay builds it (method, headers in order with duplicates, body bytes; hop-by-hop headers
    dropped, Host set for the target, Content-Length recomputed), and also: the sub-path's dot
    segments resolved within it, so it stays under the target's path; the proxy headers
    (X-Forwarded-For and its kind) left out, which the local app would believe from a loopback
    peer; and an Idempotency-Key of BIN:ID, stable across repeats, unless the capture has its own.
    """
    confined = msgspec.structs.replace(captured, sub_path=confined_path(captured.sub_path))
    has_key = captured.header(IDEMPOTENCY_HEADER) is not None
    overrides = Overrides(
        remove_headers=sorted(PROXY_HEADERS),
        set_headers=[] if has_key else [(IDEMPOTENCY_HEADER, idempotency_key(captured))],
    )
    return build_outbound(confined, target, overrides)


def backoff(failures: int, first: float, cap: float) -> float:
    """Seconds to wait after `failures` consecutive failures (0 for the first), with jitter so
    that many forwarders do not reconnect to a restarted server in lockstep."""
    delay = min(cap, first * 2 ** min(failures, 16))
    return delay * random.uniform(0.75, 1.0)


def _print(stream: TextIO, line: str) -> None:
    print(line, file=stream, flush=True)


@dataclass
class Forwarder:
    """Delivers every request a bin captures after `after` to `target`, in id order, at least once.

    `after` only moves past a request once its delivery is settled (the target answered, or the
    attempts ran out), and every (re)connection asks the server for the requests after it, so a
    dropped stream or a restarted server loses nothing and repeats nothing. The state file keeps
    the cursor across restarts of the forwarder itself; a forwarder killed while a delivery was
    in flight (or in the instant between the answer and the file's write) sends that one request
    again when it starts, with the same Idempotency-Key, so the app can drop the repeat. Failed
    deliveries (unreachable, timeout, 5xx, 429) are retried up to `attempts` times with backoff,
    each attempt printed, as a webhook sender would; after the last one the request is reported
    as given up and the forwarder moves on, so one broken request cannot stall the rest.
    """

    server: str
    bin_id: str
    target: str
    # Deliver requests with ids above this; None: above the newest at the first connection.
    after: int | None = None
    token: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    attempts: int = DEFAULT_ATTEMPTS
    state_path: Path | None = None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    # Requests the target answered (not counting those given up on).
    delivered: int = field(default=0, init=False)
    _stopping: bool = field(default=False, init=False, repr=False)
    _delivering: bool = field(default=False, init=False, repr=False)
    _task: asyncio.Task[int] | None = field(default=None, init=False, repr=False)

    @property
    def bin_url(self) -> str:
        return f"{self.server}/b/{self.bin_id}"

    def stop(self) -> None:
        """Stop after the delivery in flight, if any (its outcome is then known); twice: at once."""
        if self._task is None:
            return
        if self._stopping or not self._delivering:
            self._task.cancel()
        self._stopping = True

    # --- state -------------------------------------------------------------------------------

    def load_state(self) -> bool:
        """Resume from the state file if there is one; ValueError if it belongs to another bin."""
        if self.state_path is None or not self.state_path.exists():
            return False
        try:
            state = json.loads(self.state_path.read_text())
            last = int(state["last_delivered"])
            server, bin_id = state["server"], state["bin"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"cannot read the state file {self.state_path}: {exc}") from None
        if (server, bin_id) != (self.server, self.bin_id):
            raise ValueError(
                f"the state file {self.state_path} is for bin {bin_id} on {server}, not {self.bin_url}"
            )
        self.after = last
        return True

    def _save_state(self) -> None:
        if self.state_path is None or self.after is None:
            return
        state = {
            "server": self.server,
            "bin": self.bin_id,
            "target": self.target,
            "last_delivered": self.after,
        }
        # Written aside then renamed over, so a crash never leaves a half-written file.
        temporary = self.state_path.with_name(f".{self.state_path.name}.tmp")
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(state) + "\n")
        # Flushed to disk before the rename: after a power cut the cursor is old, never empty.
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, self.state_path)

    def _settled(self, request_id: int) -> None:
        self.after = request_id
        self._save_state()

    # --- running -----------------------------------------------------------------------------

    async def run(self) -> int:
        """Forward until stopped (0) or until something retrying cannot fix happens (1)."""
        self._task = asyncio.current_task()
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        timeouts = httpx.Timeout(10.0, read=STREAM_IDLE_TIMEOUT)
        # The user's own target: anything their machine can reach is fair game.
        policy = TargetPolicy(allow_private=True)
        failures = 0
        connections = 0

        def connected() -> None:
            nonlocal failures, connections
            failures = 0
            what = "reconnected" if connections else f"forwarding {self.bin_url}"
            _print(self.err, f"{what} -> {self.target}; delivering requests after #{self.after}")
            connections += 1
            # Saved now, not only after a delivery: a forwarder restarted before anything
            # arrived must resume here, not at a new "now" that would skip what came between.
            self._save_state()

        try:
            async with (
                httpx.AsyncClient(headers=headers, timeout=timeouts) as inspector,
                make_client(policy) as target,
            ):
                while not self._stopping:
                    try:
                        if self.after is None:
                            self.after = await self._newest(inspector)
                        await self._follow(inspector, target, policy, connected)
                        problem = "the stream ended (is the server restarting?)"
                    except (httpx.TransportError, _ServerTrouble) as exc:
                        problem = f"lost the stream from {self.server} ({_words(exc)})"
                    if self._stopping:
                        break
                    delay = backoff(failures, RECONNECT_FIRST, RECONNECT_CAP)
                    failures += 1
                    _print(self.err, f"{problem}; reconnecting in {delay:.1f} s")
                    await asyncio.sleep(delay)
        except ForwardError as exc:
            _print(self.err, f"error: {exc}")
            return 1
        except asyncio.CancelledError:
            pass  # stopped by a signal
        last = f"#{self.after}" if self.after is not None else "none"
        _print(self.err, f"stopped; {self.delivered} delivered, last settled {last}")
        return 0

    async def _newest(self, inspector: httpx.AsyncClient) -> int:
        """The newest request id now, so that by default only requests from now on are delivered."""
        response = await inspector.get(f"{self.server}/api/bins/{self.bin_id}/requests", params={"limit": 1})
        self._check(response)
        if response.status_code != 200:
            raise _ServerTrouble(f"it answered HTTP {response.status_code}")
        items = response.json().get("items") or []
        return int(items[0]["id"]) if items else 0

    def _check(self, response: httpx.Response) -> None:
        if response.status_code == 404:
            raise ForwardError(f"there is no bin {self.bin_id!r} on {self.server} (deleted or expired?)")
        if response.status_code in (401, 403):
            hint = "the token was refused" if self.token else "a private bin needs --token"
            raise ForwardError(
                f"{self.server} refused access to bin {self.bin_id} (HTTP {response.status_code}); {hint}"
            )

    async def _follow(
        self,
        inspector: httpx.AsyncClient,
        target: httpx.AsyncClient,
        policy: TargetPolicy,
        connected: Callable[[], None],
    ) -> None:
        """Read the stream from the cursor on, delivering each request, until it ends."""
        url = f"{self.server}/api/bins/{self.bin_id}/stream"
        # Both: `after` for this server, Last-Event-ID for anything that speaks plain SSE.
        headers = {"accept": "text/event-stream", "last-event-id": str(self.after)}
        async with inspector.stream("GET", url, params={"after": self.after}, headers=headers) as response:
            self._check(response)
            if response.status_code != 200:
                raise _ServerTrouble(f"the stream answered HTTP {response.status_code}")
            connected()
            async for event in read_events(response.aiter_lines()):
                if event.event == "request":
                    await self._handle(event.data, target, policy)
                elif event.event == "bin_deleted":
                    raise ForwardError(f"bin {self.bin_id} was deleted")
                if self._stopping:
                    return

    async def _handle(self, data: str, target: httpx.AsyncClient, policy: TargetPolicy) -> None:
        try:
            captured = captured_from_json(data)
        except (ValueError, msgspec.DecodeError) as exc:
            _print(self.err, f"cannot read a streamed request, skipped: {exc}")
            return
        if self.after is not None and captured.id <= self.after:
            return  # settled before a reconnection
        if captured.rejected is not None:
            _print(
                self.err, f"#{captured.id} skipped: the server did not keep its body ({captured.rejected})"
            )
            self._settled(captured.id)
            return
        try:
            outbound = forwarded_request(captured, self.target)
        except ValueError as exc:
            _print(self.err, f"#{captured.id} skipped: {exc}")
            self._settled(captured.id)
            return
        for attempt in range(1, self.attempts + 1):
            self._delivering = True
            try:
                result = await deliver(outbound, policy=policy, timeout=self.timeout, client=target)
            finally:
                self._delivering = False
            retry = should_retry(result)
            note = ""
            delay = backoff(attempt - 1, RETRY_FIRST, RETRY_CAP)
            if retry and self.attempts > 1:
                more = attempt < self.attempts and not self._stopping
                then = f"retrying in {delay:.1f} s" if more else "giving up"
                note = f"attempt {attempt} of {self.attempts}; {then}"
            _print(self.out, format_line(captured.id, result, note))
            if not retry:
                self.delivered += 1
                break
            if self._stopping:
                return  # not settled: a restart with the same state tries it again
            if attempt < self.attempts:
                await asyncio.sleep(delay)
        self._settled(captured.id)


def format_line(request_id: int, result: DeliveryResult, note: str = "") -> str:
    """One delivery as printed: `HH:MM:SS  #ID  METHOD /path?query  -> STATUS  N ms  (note)`.

    The path is the one requested at the target; STATUS is the target's status code, or the
    error in words when no answer arrived.
    """
    split = urlsplit(result.url)
    path = f"{split.path}?{split.query}" if split.query else split.path
    if result.error is None:
        outcome = str(result.status)
    elif result.status is not None:
        outcome = f"{result.status}, then {result.error}"
    else:
        outcome = result.error
    when = f"{datetime.now():%H:%M:%S}"
    line = f"{when}  #{request_id}  {result.method} {path}  -> {outcome}  {result.duration_ms:.0f} ms"
    return f"{line}  ({note})" if note else line


def _words(exc: BaseException) -> str:
    """Why the stream was lost, in words (httpx's own messages speak of chunks and attempts)."""
    if any(isinstance(error, ConnectionRefusedError) for error in exception_chain(exc)):
        return "connection refused"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection"
    if isinstance(exc, httpx.ReadTimeout):
        return f"nothing received for {STREAM_IDLE_TIMEOUT:.0f} s"
    return str(exc) or type(exc).__name__


def run_forwarder(forwarder: Forwarder) -> int:
    """Run until Ctrl-C or SIGTERM (which let the delivery in flight finish) and return the exit code."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Not on Windows: there Ctrl-C arrives as KeyboardInterrupt instead.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, forwarder.stop)
        return await forwarder.run()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0
