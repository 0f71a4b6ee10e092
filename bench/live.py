"""Live dashboard latency, SSE fan-out and big-bin page times, each against a baseline from the same run.

Three measurements, each on its own fresh `inspector serve` (SQLite synchronous=full by default)
pinned to one CPU, with everything this script starts (browser, SSE clients, sender) on the other:

- dom: one dashboard open in headless chromium (Playwright). A MutationObserver records when each
  captured request's `tr.row` appears; captures are sent at a light, steady rate and the time of
  each 2xx is recorded on the same clock. Baselines: the same captures read from the JSON and the
  HTML streams by Python SSE clients, and the capture round trip itself.
- fanout: N subscribers (in one separate process) follow a bin's JSON SSE stream while a sender
  (this process, a bare keep-alive HTTP client) captures at a fixed rate; every subscriber must
  receive every acknowledged request id exactly once. Run twice: with httpx streaming clients and
  with bare asyncio clients, which need far less CPU per event, to tell the server's limits from
  the clients'. Reports capture-2xx-to-receipt latency, lost and duplicated events, the server's
  RSS and the CPU share each process used. Baseline: the same rate with 1 subscriber.
- page: a bin with 10,000 stored requests; sequential GET /bins/{id} and GET /api/bins/{id}/requests.
  Baselines: GET /healthz, the page of an empty bin, and the API page of a 100-request bin.
- sse: capture-2xx-to-SSE latency at a light rate (50 captures/s) with one bare subscriber, on the
  JSON stream and the dashboard's HTML stream (issue #11's target: p99 <= 1 ms). Baseline: the same
  runs on `inspector serve` from `--baseline-tree` (say, `git worktree add --detach` of the commit
  before a change), interleaved with this tree's runs round by round; medians over `--sse-rounds`.

Run from the repository root (needs httpx, playwright, msgspec, Debian's chromium, taskset):

    python bench/live.py                                    # all three, about three minutes
    python bench/live.py dom page                           # only some
    python bench/live.py fanout --fanout-streams json,html  # the dashboard's HTML stream as well
    python bench/live.py --output bench/results/live.json
    python bench/live.py sse --baseline-tree /tmp/before     # this tree against an earlier commit

All traffic goes to 127.0.0.1. Latencies are wall-clock differences (time.time() in Python,
performance.timeOrigin + performance.now() in chromium, corrected by a measured clock offset).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

BODY = json.dumps({"event": "bench", "data": "x" * 980}, separators=(",", ":")).encode()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MEASUREMENTS = ("dom", "fanout", "page", "sse")

# Installed before the page's own scripts: records when each captured row enters the DOM, and the
# next animation frame after it (about when it is painted), keyed by request id.
OBSERVER_JS = """
(() => {
  const inserted = {}, framed = {}, counts = {}, sse = {open: 0, error: 0};
  window.__bench = {inserted, framed, counts, sse};
  const record = (row) => {
    const id = row.id.startsWith("r-") ? row.id.slice(2) : row.id;
    counts[id] = (counts[id] || 0) + 1;
    if (id in inserted) return;
    inserted[id] = performance.timeOrigin + performance.now();
    requestAnimationFrame(() => { framed[id] = performance.timeOrigin + performance.now(); });
  };
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      for (const node of mutation.addedNodes) {
        if (node.nodeType !== 1) continue;
        if (node.matches("tr.row")) record(node);
        for (const row of node.querySelectorAll("tr.row")) record(row);
      }
    }
  }).observe(document, {childList: true, subtree: true});
  document.addEventListener("htmx:sseOpen", () => { sse.open += 1; });
  document.addEventListener("htmx:sseError", () => { sse.error += 1; });
})();
"""


# -- small helpers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cpu: str | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if cpu is not None and shutil.which("taskset") else command


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_busy_seconds(cpu: str | None) -> float:
    """Busy (non-idle, non-iowait) time of one CPU so far, whoever used it (Linux /proc/stat)."""
    if cpu is None:
        return 0.0
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            ticks = [int(value) for value in line.split()[1:]]
            return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (as numpy's default); nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> dict[str, float | int]:
    return {
        "n": len(values),
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values) if values else float("nan"),
        "min_ms": min(values) if values else float("nan"),
    }


def now_ms() -> float:
    return time.time() * 1000


async def wait_for(predicate: Callable[[], bool], seconds: float, interval: float = 0.05) -> bool:
    """Poll `predicate` until it holds, for at most `seconds` (a bounded number of polls)."""
    for _ in range(max(1, int(seconds / interval))):
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()


class Server:
    """`python -m inspector serve` on a free port, pinned to a CPU, with its own database file."""

    def __init__(self, args: argparse.Namespace, workdir: Path, name: str, tree: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "inspector",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        # The port makes each run's database its own: runs of one name (rounds, trees) never share one.
        command += ["--db", str(workdir / f"{name}-{self.port}.db"), "--log-level", "warning"]
        command += ["--sqlite-synchronous", args.synchronous]
        self.command = pinned(args.server_cpu, command)
        self.log_path = workdir / f"{name}-{self.port}.log"
        # `tree`: another checkout of the project (an earlier commit, to measure a change against).
        env = {**os.environ, "PYTHONPATH": str(tree)} if tree else None
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, cwd=tree, env=env
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.url}/healthz did not answer 200 within 30 s")

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    def new_bin(self) -> str:
        response = httpx.post(f"{self.url}/api/bins", timeout=10)
        response.raise_for_status()
        return response.json()["id"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


# -- sending captures ---------------------------------------------------------------------------


@dataclass
class Sent:
    acks: dict[int, float] = field(default_factory=dict)  # request id -> wall ms when the 2xx arrived
    starts: dict[int, float] = field(default_factory=dict)  # request id -> wall ms when it was sent
    round_trips: list[float] = field(default_factory=list)  # ms from send to 2xx
    failures: int = 0
    failure_reasons: dict[str, int] = field(default_factory=dict)
    max_slip_ms: float = 0.0  # how late the sender fell behind its schedule
    seconds: float = 0.0


def _split_url(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    return (
        parts.hostname or "127.0.0.1",
        parts.port or 80,
        parts.path + (f"?{parts.query}" if parts.query else ""),
    )


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return status, headers


class RawPoster:
    """A minimal HTTP/1.1 keep-alive POST client for the local server.

    httpx spends over a millisecond of CPU per request here; at 200 requests/s that is a large
    share of the CPU the sender shares with the subscribers. This spends a few dozen microseconds.
    """

    def __init__(self, url: str, body: bytes, content_type: str) -> None:
        self._host, self._port, target = _split_url(url)
        self._request = (
            f"POST {target} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self._writers: list[asyncio.StreamWriter] = []

    async def post(self) -> tuple[int, dict[str, str]]:
        # uvicorn closes keep-alive connections idle for 5 s; never reuse one idle for 2 s or more.
        while self._idle and time.monotonic() - self._idle[0][2] >= 2:
            self._idle.pop(0)[1].close()
        if self._idle:
            reader, writer, _ = self._idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self._host, self._port)
            self._writers.append(writer)
        try:
            writer.write(self._request)
            status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            await reader.readexactly(int(headers.get("content-length", "0")))
        except BaseException:
            writer.close()
            raise
        self._idle.append((reader, writer, time.monotonic()))
        return status, headers

    def close(self) -> None:
        for writer in self._writers:
            writer.close()


async def send_paced(
    url: str, count: int, rate: float, client: str = "httpx", max_in_flight: int = 64
) -> Sent:
    """Open-loop sender: request i leaves at start + i / rate, whatever happened to earlier ones."""
    sent = Sent()
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    gate = asyncio.Semaphore(max_in_flight)
    headers = {"content-type": "application/json"}
    raw = RawPoster(url, BODY, headers["content-type"])
    async with httpx.AsyncClient(limits=limits, timeout=10) as http:

        async def post() -> tuple[int, dict[str, str] | httpx.Headers]:
            if client == "raw":
                return await asyncio.wait_for(raw.post(), 10)
            response = await http.post(url, content=BODY, headers=headers)
            return response.status_code, response.headers

        async def one() -> None:
            async with gate:
                start, started = time.perf_counter(), now_ms()
                try:
                    status, answer = await post()
                except (
                    httpx.HTTPError,
                    OSError,
                    asyncio.IncompleteReadError,
                    TimeoutError,
                    ValueError,
                ) as exc:
                    sent.failures += 1
                    reason = type(exc).__name__
                    sent.failure_reasons[reason] = sent.failure_reasons.get(reason, 0) + 1
                    return
                acked = now_ms()
                if 200 <= status < 300 and "x-inspector-request-id" in answer:
                    request_id = int(answer["x-inspector-request-id"])
                    sent.acks[request_id] = acked
                    sent.starts[request_id] = started
                    sent.round_trips.append((time.perf_counter() - start) * 1000)
                else:
                    sent.failures += 1
                    reason = f"HTTP {status}"
                    sent.failure_reasons[reason] = sent.failure_reasons.get(reason, 0) + 1

        tasks: list[asyncio.Task[None]] = []
        begin = time.perf_counter()
        try:
            for i in range(count):
                delay = begin + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent.max_slip_ms = max(sent.max_slip_ms, -delay * 1000)
                tasks.append(asyncio.create_task(one()))
            _, pending = await asyncio.wait(tasks, timeout=30)
            for task in pending:
                task.cancel()
            sent.failures += len(pending)
            sent.seconds = time.perf_counter() - begin
        finally:
            raw.close()
    return sent


async def seed(url: str, count: int, concurrency: int = 32) -> int:
    """Capture `count` requests over `concurrency` keep-alive connections; returns how many got a 2xx."""
    poster = RawPoster(url, BODY, "application/json")
    counter = iter(range(count))
    ok = 0

    async def worker() -> None:
        nonlocal ok
        for _ in counter:
            status, _ = await poster.post()
            ok += 200 <= status < 300

    try:
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout=300)
    finally:
        poster.close()
    return ok


# -- reading SSE --------------------------------------------------------------------------------


class SSEParser:
    """Incremental text/event-stream parser: enough of the WHATWG rules for these streams."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event: str | None = None
        self.last_id: str | None = None
        self.comments = 0

    def feed(self, chunk: bytes) -> list[tuple[str | None, str | None, str]]:
        """Return the (id, event, data) of every event the chunk completes."""
        buffer = self._buffer + chunk
        # A CR at the very end may be the first half of a CRLF split across chunks.
        hold = buffer.endswith(b"\r")
        if hold:
            buffer = buffer[:-1]
        lines = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        self._buffer = lines.pop() + (b"\r" if hold else b"")
        events = []
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            if not line:
                if self._data:
                    events.append((self.last_id, self._event, "\n".join(self._data)))
                self._data, self._event = [], None
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id" and "\0" not in value:
                self.last_id = value
        return events


class _RequestId(msgspec.Struct):
    id: int


_request_id = msgspec.json.Decoder(_RequestId)


@dataclass
class Recorder:
    """What one SSE subscriber received: request ids in arrival order, with wall-clock ms."""

    kind: str  # "json" or "html"
    ids: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    connections: int = 0
    connected: bool = False
    mismatched: int = 0  # event id and payload disagree
    errors: list[str] = field(default_factory=list)

    def record(self, received: float, event_id: str | None, event: str | None, data: str) -> None:
        if event_id is None or not event_id.isdigit():
            return
        request_id = int(event_id)
        if self.kind == "json":
            if event != "request":
                return
            if _request_id.decode(data).id != request_id:
                self.mismatched += 1
        elif f'id="r-{request_id}"' not in data:
            self.mismatched += 1
        self.ids.append(request_id)
        self.times.append(received)

    def export(self) -> dict[str, Any]:
        return {
            "ids": self.ids,
            "times": self.times,
            "connections": self.connections,
            "mismatched": self.mismatched,
            "errors": self.errors[:5],
        }


def stream_url(base: str, bin_id: str, kind: str) -> str:
    return (
        f"{base}/api/bins/{bin_id}/stream?after=0"
        if kind == "json"
        else f"{base}/bins/{bin_id}/events?after=0"
    )


async def follow_stream(
    client: httpx.AsyncClient, url: str, recorder: Recorder, max_connections: int = 20
) -> None:
    """Read one SSE stream until cancelled, reconnecting with Last-Event-ID as a browser would."""
    parser = SSEParser()
    while recorder.connections < max_connections:
        headers = {"accept": "text/event-stream"}
        if parser.last_id:
            headers["last-event-id"] = parser.last_id
        recorder.connections += 1
        try:
            async with client.stream("GET", url, headers=headers) as response:
                if response.status_code != 200:
                    recorder.errors.append(f"HTTP {response.status_code}")
                    await asyncio.sleep(0.5)
                    continue
                recorder.connected = True
                async for chunk in response.aiter_raw():
                    received = now_ms()
                    for event_id, event, data in parser.feed(chunk):
                        recorder.record(received, event_id, event, data)
                recorder.errors.append(f"stream ended by the server after id {parser.last_id}")
        except httpx.HTTPError as exc:
            recorder.errors.append(f"{type(exc).__name__}: {exc}")
        recorder.connected = False
        await asyncio.sleep(0.2)  # the server asks for retry: 1000; reconnect sooner, bounded in count


async def follow_stream_raw(url: str, recorder: Recorder, max_connections: int = 20) -> None:
    """As follow_stream, over a bare asyncio connection: far less client CPU per event than httpx."""
    host, port, target = _split_url(url)
    parser = SSEParser()
    while recorder.connections < max_connections:
        recorder.connections += 1
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
            last = f"Last-Event-ID: {parser.last_id}\r\n" if parser.last_id else ""
            head = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
            writer.write(f"{head}{last}\r\n".encode())
            status, headers = _parse_head(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10))
            if status != 200:
                recorder.errors.append(f"HTTP {status}")
                await asyncio.sleep(0.5)
                continue
            recorder.connected = True
            chunked = headers.get("transfer-encoding", "").lower() == "chunked"
            while True:  # ends when the server closes the stream, or on cancellation
                if chunked:
                    line = await reader.readline()
                    if not line:
                        recorder.errors.append(
                            f"connection closed without end of stream, after id {parser.last_id}"
                        )
                        break
                    size = int(line.split(b";")[0].strip(), 16)
                    if size == 0:
                        recorder.errors.append(f"stream ended by the server after id {parser.last_id}")
                        break
                    chunk = (await reader.readexactly(size + 2))[:-2]
                else:
                    chunk = await reader.read(65536)
                    if not chunk:
                        recorder.errors.append(f"connection closed after id {parser.last_id}")
                        break
                received = now_ms()
                for event_id, event, data in parser.feed(chunk):
                    recorder.record(received, event_id, event, data)
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ValueError,
        ) as exc:
            recorder.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            recorder.connected = False
            if writer is not None:
                writer.close()
        await asyncio.sleep(0.2)


def subscriber_process(
    url: str, count: int, kind: str, client: str, conn: Any, cpu: str | None, budget: float
) -> None:
    """Child process: `count` SSE subscribers on one stream; talks to the parent over a Pipe."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(cpu)})
    asyncio.run(_subscribers(url, count, kind, client, conn, budget))


async def _subscribers(url: str, count: int, kind: str, client: str, conn: Any, budget: float) -> None:
    deadline = time.monotonic() + budget
    recorders = [Recorder(kind) for _ in range(count)]
    limits = httpx.Limits(max_connections=count + 4, max_keepalive_connections=count + 4)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(10, read=60)) as http:
        tasks = [
            asyncio.create_task(
                follow_stream_raw(url, recorder) if client == "raw" else follow_stream(http, url, recorder)
            )
            for recorder in recorders
        ]
        await wait_for(lambda: all(r.connected for r in recorders), 30)
        conn.send(("ready", sum(r.connected for r in recorders)))
        message = None
        while time.monotonic() < deadline:
            if conn.poll():
                message = conn.recv()
                break
            await asyncio.sleep(0.05)
        if message and message[0] == "drain":
            acked: set[int] = set(message[1])
            drain_by = time.monotonic() + message[2]
            waiting = list(recorders)
            while waiting and time.monotonic() < min(drain_by, deadline):
                waiting = [r for r in waiting if len(r.ids) < len(acked) or not acked.issubset(r.ids)]
                await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    conn.send(("result", [r.export() for r in recorders]))


def delivery(sent: Sent, received: list[dict[str, Any]]) -> dict[str, Any]:
    """Latencies (first receipt - 2xx, and - send) and exactly-once accounting over every subscriber."""
    acks = sent.acks
    latencies: list[float] = []
    from_send: list[float] = []
    lost = duplicates = unacked = out_of_order = mismatched = reconnections = 0
    subscribers_with_loss = 0
    missing_counts: dict[int, int] = {}
    acked = set(acks)
    for sub in received:
        seen: set[int] = set()
        previous = 0
        for request_id, at in zip(sub["ids"], sub["times"], strict=True):
            if request_id in seen:
                duplicates += 1
                continue
            seen.add(request_id)
            out_of_order += request_id < previous
            previous = max(previous, request_id)
            if request_id in acks:
                latencies.append(at - acks[request_id])
                from_send.append(at - sent.starts[request_id])
            else:
                unacked += 1
        missing_ids = acked - seen
        missing = len(missing_ids)
        for request_id in missing_ids:
            missing_counts[request_id] = missing_counts.get(request_id, 0) + 1
        lost += missing
        subscribers_with_loss += missing > 0
        mismatched += sub["mismatched"]
        reconnections += max(0, sub["connections"] - 1)
    return {
        "latency": summary(latencies),
        "latency_from_send": summary(from_send),
        "expected_deliveries": len(acked) * len(received),
        "lost": lost,
        "subscribers_with_loss": subscribers_with_loss,
        # The most often lost request ids, and how many subscribers missed each.
        "lost_ids": dict(sorted(missing_counts.items(), key=lambda item: -item[1])[:10]),
        "duplicates": duplicates,
        "received_but_not_acknowledged": unacked,
        "out_of_order": out_of_order,
        "payload_mismatches": mismatched,
        "reconnections": reconnections,
        "errors": sorted({e for sub in received for e in sub["errors"]})[:5],
    }


# -- 1. capture to DOM --------------------------------------------------------------------------


async def clock_offset(page: Any) -> dict[str, float]:
    """Browser clock minus Python's time.time(), from the tightest of a few bracketed readings."""
    best: tuple[float, float] | None = None
    for _ in range(9):
        before = now_ms()
        browser = await page.evaluate("performance.timeOrigin + performance.now()")
        after = now_ms()
        if best is None or after - before < best[1]:
            best = (browser - (before + after) / 2, after - before)
    assert best is not None
    return {"offset_ms": best[0], "uncertainty_ms": best[1] / 2}


async def measure_dom(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    server = Server(args, workdir, "dom")
    try:
        bin_id = server.new_bin()
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page()
                console_errors: list[str] = []
                page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: console_errors.append(str(e)))
                await page.add_init_script(OBSERVER_JS)
                await page.goto(f"{server.url}/bins/{bin_id}", wait_until="load")
                await page.wait_for_function(
                    "document.getElementById('live-indicator')?.dataset.state === 'live'", timeout=20_000
                )
                offset_before = await clock_offset(page)
                recorders = {kind: Recorder(kind) for kind in ("json", "html")}
                async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as sse:
                    readers = [
                        asyncio.create_task(
                            follow_stream(sse, stream_url(server.url, bin_id, kind), recorder)
                        )
                        for kind, recorder in recorders.items()
                    ]
                    await wait_for(lambda: all(r.connected for r in recorders.values()), 10)
                    await asyncio.sleep(0.5)
                    sent = await send_paced(f"{server.url}/b/{bin_id}/dom", args.dom_captures, args.dom_rate)
                    wanted = {str(i) for i in sent.acks}
                    drain_by = time.monotonic() + 15
                    while time.monotonic() < drain_by:
                        shown = set(await page.evaluate("Object.keys(window.__bench.framed)"))
                        streams_done = all(set(sent.acks) <= set(r.ids) for r in recorders.values())
                        if wanted <= shown and streams_done:
                            break
                        await asyncio.sleep(0.2)
                    for task in readers:
                        task.cancel()
                    await asyncio.gather(*readers, return_exceptions=True)
                state = await page.evaluate("window.__bench")
                shown_count = await page.text_content("#request-count")
                offset_after = await clock_offset(page)
            finally:
                await browser.close()
    finally:
        server.stop()

    offset = (offset_before["offset_ms"] + offset_after["offset_ms"]) / 2
    acks = sent.acks

    def browser_latencies(times: dict[str, float], since: dict[int, float] | None = None) -> list[float]:
        return [times[str(i)] - offset - at for i, at in (since or acks).items() if str(i) in times]

    return {
        "command": server.command,
        "server_log": server.log(),
        "captures": args.dom_captures,
        "rate_per_s": args.dom_rate,
        "acknowledged": len(acks),
        "send_failures": sent.failures,
        "failure_reasons": sent.failure_reasons,
        "clock_offset": {"before": offset_before, "after": offset_after, "applied_ms": offset},
        "dom_inserted": summary(browser_latencies(state["inserted"])),
        "dom_next_frame": summary(browser_latencies(state["framed"])),
        "dom_inserted_from_send": summary(browser_latencies(state["inserted"], sent.starts)),
        "dom_missing": len([i for i in acks if str(i) not in state["inserted"]]),
        "dom_rows_added_more_than_once": sum(1 for n in state["counts"].values() if n > 1),
        "dom_count_shown": shown_count,
        "browser_sse": state["sse"],
        "browser_console_errors": console_errors[:10],
        "json_stream": delivery(sent, [recorders["json"].export()]),
        "html_stream": delivery(sent, [recorders["html"].export()]),
        "round_trip": summary(sent.round_trips),
    }


# -- 2. fan-out ---------------------------------------------------------------------------------


def fanout_run(
    args: argparse.Namespace,
    workdir: Path,
    subscribers: int,
    kind: str,
    client: str,
    *,
    tree: Path | None = None,
    rate: float | None = None,
    seconds: float | None = None,
    name: str = "fanout",
) -> dict[str, Any]:
    rate = rate or args.fanout_rate
    seconds = seconds or args.fanout_seconds
    server = Server(args, workdir, f"{name}-{kind}-{client}-{subscribers}", tree)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = None
    try:
        warm = server.new_bin()
        for _ in range(50):
            httpx.post(f"{server.url}/b/{warm}/warm-up", content=BODY, timeout=10)
        bin_id = server.new_bin()
        rss_before = rss_mib(server.pid)
        budget = seconds + 120
        process = context.Process(
            target=subscriber_process,
            args=(
                stream_url(server.url, bin_id, kind),
                subscribers,
                kind,
                client,
                child,
                args.load_cpu,
                budget,
            ),
            daemon=True,
        )
        process.start()
        if not parent.poll(60):
            raise RuntimeError("subscribers did not report ready within 60 s")
        _, connected = parent.recv()
        time.sleep(1.0)
        rss_idle = rss_mib(server.pid)
        count = round(rate * seconds)
        cpu_server, cpu_subs, cpu_sender = (
            cpu_seconds(server.pid),
            cpu_seconds(process.pid),
            time.process_time(),
        )
        busy_server_cpu, busy_load_cpu = cpu_busy_seconds(args.server_cpu), cpu_busy_seconds(args.load_cpu)
        started = time.monotonic()
        sent = asyncio.run(send_paced(f"{server.url}/b/{bin_id}/fanout", count, rate, args.sender))
        send_wall = time.monotonic() - started
        cpu_server_send = cpu_seconds(server.pid) - cpu_server
        cpu_subs_send = cpu_seconds(process.pid) - cpu_subs
        cpu_sender = time.process_time() - cpu_sender
        busy_server_cpu = cpu_busy_seconds(args.server_cpu) - busy_server_cpu
        busy_load_cpu = cpu_busy_seconds(args.load_cpu) - busy_load_cpu
        parent.send(("drain", sorted(sent.acks), args.drain_seconds))
        if not parent.poll(args.drain_seconds + 60):
            raise RuntimeError("subscribers did not report results")
        _, received = parent.recv()
        drained = time.monotonic() - started - send_wall
        rss_after = rss_mib(server.pid)
        process.join(15)
    finally:
        if process is not None and process.is_alive():
            process.terminate()
            process.join(5)
        server.stop()
    return {
        "command": server.command,
        "server_log": server.log(),
        "stream": kind,
        "subscriber_client": client,
        "sender": args.sender,
        "subscribers": subscribers,
        "subscribers_connected": connected,
        "rate_per_s": rate,
        "tree": str(tree or Path.cwd()),
        "sent": count,
        "acknowledged": len(sent.acks),
        "send_failures": sent.failures,
        "failure_reasons": sent.failure_reasons,
        "achieved_rate_per_s": len(sent.acks) / sent.seconds if sent.seconds else 0.0,
        "sender_max_slip_ms": sent.max_slip_ms,
        "round_trip": summary(sent.round_trips),
        **delivery(sent, received),
        "drain_seconds_after_last_send": drained,
        "rss_mib": {"before_subscribers": rss_before, "subscribers_idle": rss_idle, "after_load": rss_after},
        # CPU seconds used per wall second while sending (1.0 = one core busy).
        "cpu_share_while_sending": {
            "server": cpu_server_send / send_wall,
            "subscribers_process": cpu_subs_send / send_wall,
            "sender_process": cpu_sender / send_wall,
            # Busy time of each pinned CPU not accounted for by these processes: other tenants' work.
            "others_on_server_cpu": max(0.0, busy_server_cpu - cpu_server_send) / send_wall,
            "others_on_load_cpu": max(0.0, busy_load_cpu - cpu_subs_send - cpu_sender) / send_wall,
        },
    }


def measure_fanout(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    results = {}
    for kind in [k.strip() for k in args.fanout_streams.split(",")]:
        for client in [c.strip() for c in args.subscriber_clients.split(",")]:
            baseline = fanout_run(args, workdir, 1, kind, client)
            loaded = fanout_run(args, workdir, args.fanout_subscribers, kind, client)
            results[f"{kind} stream, {client} subscribers"] = {"baseline_1": baseline, "loaded": loaded}
    return results


# -- 4. capture to SSE at a light rate, against a baseline tree ---------------------------------


def measure_sse(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Each round runs the baseline tree, then this one, per stream: noise from other tenants falls
    on both alike, and the medians over rounds are what is compared."""
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.baseline_tree:
        trees.insert(0, ("baseline", args.baseline_tree.resolve()))
    kinds = [k.strip() for k in args.sse_streams.split(",")]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {label: {k: [] for k in kinds} for label, _ in trees}
    for _ in range(args.sse_rounds):
        for label, tree in trees:
            for kind in kinds:
                run = fanout_run(
                    args,
                    workdir,
                    1,
                    kind,
                    "raw",
                    tree=tree,
                    rate=args.sse_rate,
                    seconds=args.sse_seconds,
                    name="sse",
                )
                runs[label][kind].append(run)
    return {
        label: {kind: {"runs": found} for kind, found in by_kind.items()} for label, by_kind in runs.items()
    }


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def sse_medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    """The median over runs of each run's p50 and p99 (2xx -> event), with the events counted."""
    return {
        "n": sum(r["latency"]["n"] for r in runs),
        "p50_ms": median([r["latency"]["p50_ms"] for r in runs]),
        "p99_ms": median([r["latency"]["p99_ms"] for r in runs]),
        "max_ms": max(r["latency"]["max_ms"] for r in runs),
    }


# -- 3. a bin with 10,000 requests --------------------------------------------------------------


def measure_page(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    server = Server(args, workdir, "page")
    try:
        big, small, empty = server.new_bin(), server.new_bin(), server.new_bin()
        started = time.monotonic()
        seeded = asyncio.run(seed(f"{server.url}/b/{big}/seed", args.page_requests))
        seed_seconds = time.monotonic() - started
        asyncio.run(seed(f"{server.url}/b/{small}/seed", 100, concurrency=8))
        stored = httpx.get(f"{server.url}/api/bins/{big}", timeout=30).json()["request_count"]
        targets = {
            "healthz": "/healthz",
            "page_empty": f"/bins/{empty}",
            "page_100": f"/bins/{small}",
            "page_big": f"/bins/{big}",
            "api_100": f"/api/bins/{small}/requests?limit=50",
            "api_big": f"/api/bins/{big}/requests?limit=50",
        }
        samples: dict[str, list[float]] = {name: [] for name in targets}
        first: dict[str, float] = {}
        names = list(targets)
        with httpx.Client(base_url=server.url, timeout=30) as client:

            def timed(path: str) -> tuple[float, httpx.Response]:
                start = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path}: {response.status_code}")
                return elapsed, response

            for name in names:
                first[name], _ = timed(targets[name])
            for _ in range(args.page_warmup):
                for name in names:
                    timed(targets[name])
            for round_ in range(args.page_samples):
                # Rotate the order so drift on a shared machine hits every target alike.
                for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                    samples[name].append(timed(targets[name])[0])
            _, page = timed(targets["page_big"])
            _, api = timed(targets["api_big"])
        rss = rss_mib(server.pid)
    finally:
        server.stop()
    return {
        "command": server.command,
        "server_log": server.log(),
        "requests_seeded": seeded,
        "stored": stored,
        "seed_seconds": seed_seconds,
        "samples_per_target": args.page_samples,
        "first_request_ms": first,
        "timings": {name: summary(values) for name, values in samples.items()},
        "page_big_rows_shown": page.text.count('class="row'),
        "page_big_count_shown": f'<span id="request-count">{stored}</span>' in page.text,
        "page_big_bytes": len(page.content),
        "api_big_items": len(api.json()["items"]),
        "rss_mib_after": rss,
    }


# -- report -------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and b == b and a == a else "n/a"


def ms(stats: dict[str, Any]) -> str:
    return f"{stats['p50_ms']:.2f} / {stats['p99_ms']:.2f} / {stats['max_ms']:.1f}"


def report(results: dict[str, Any]) -> list[str]:
    out = [
        "| measurement | n | p50 / p99 / max ms | baseline (same run) | baseline p50 / p99 ms |"
        " ratio p50 / p99 | target |",
        "|---|---:|---:|---|---:|---:|---|",
    ]

    def row(name: str, stats: dict[str, Any], base_name: str, base: dict[str, Any], target: str = "") -> None:
        out.append(
            f"| {name} | {stats['n']} | {ms(stats)} | {base_name} |"
            f" {base['p50_ms']:.2f} / {base['p99_ms']:.2f} |"
            f" {ratio(stats['p50_ms'], base['p50_ms'])} / {ratio(stats['p99_ms'], base['p99_ms'])} |"
            f" {target} |"
        )

    notes: list[str] = []
    if dom := results.get("dom"):
        json_latency = dom["json_stream"]["latency"]
        row(
            "2xx -> row in DOM (chromium)",
            dom["dom_inserted"],
            "2xx -> JSON SSE event (Python)",
            json_latency,
        )
        row(
            "2xx -> next frame after row",
            dom["dom_next_frame"],
            "2xx -> JSON SSE event (Python)",
            json_latency,
        )
        row(
            "2xx -> HTML SSE event (Python)",
            dom["html_stream"]["latency"],
            "2xx -> JSON SSE event",
            json_latency,
        )
        row(
            "send -> row in DOM (chromium)",
            dom["dom_inserted_from_send"],
            "send -> 2xx (capture round trip)",
            dom["round_trip"],
        )
        row(
            "send -> JSON SSE event (Python)",
            dom["json_stream"]["latency_from_send"],
            "send -> 2xx (capture round trip)",
            dom["round_trip"],
        )
        notes.append(
            f"dom: {dom['acknowledged']}/{dom['captures']} captures acknowledged at {dom['rate_per_s']}/s;"
            f" rows missing from the DOM {dom['dom_missing']},"
            f" added twice {dom['dom_rows_added_more_than_once']};"
            f" count shown {dom['dom_count_shown']}; JSON stream lost {dom['json_stream']['lost']},"
            f" HTML stream lost {dom['html_stream']['lost']}; browser clock offset"
            f" {dom['clock_offset']['applied_ms']:+.2f} ms (applied); browser SSE opens/errors"
            f" {dom['browser_sse']['open']}/{dom['browser_sse']['error']};"
            f" console errors {len(dom['browser_console_errors'])}"
        )
    for kind, pair in results.get("fanout", {}).items():
        base, loaded = pair["baseline_1"], pair["loaded"]
        met = "met" if loaded["latency"]["p99_ms"] <= 250 and loaded["lost"] == 0 else "**missed**"
        row(
            f"fan-out, {kind}: {loaded['subscribers']} subscribers, 2xx -> event",
            loaded["latency"],
            "1 subscriber, same rate",
            base["latency"],
            f"p99 <= 250 ms, 0 lost: {met}",
        )
        row(
            f"fan-out, {kind}: {loaded['subscribers']} subscribers, send -> event",
            loaded["latency_from_send"],
            "1 subscriber, same rate",
            base["latency_from_send"],
        )
        for label, r in (("1 subscriber", base), (f"{loaded['subscribers']} subscribers", loaded)):
            rss = r["rss_mib"]
            cpu = r["cpu_share_while_sending"]
            lost_ids = f"; ids lost, with how many missed each: {r['lost_ids']}" if r["lost"] else ""
            notes.append(
                f"fan-out, {kind}, {label}: {r['acknowledged']}/{r['sent']} acknowledged at"
                f" {r['achieved_rate_per_s']:.0f}/s (sender max slip {r['sender_max_slip_ms']:.0f} ms,"
                f" round trip p50/p99 {r['round_trip']['p50_ms']:.1f}/{r['round_trip']['p99_ms']:.1f} ms);"
                f" deliveries expected {r['expected_deliveries']}, lost {r['lost']}"
                f" ({r['subscribers_with_loss']} subscribers{lost_ids}),"
                f" duplicates {r['duplicates']},"
                f" out of order {r['out_of_order']}, reconnections {r['reconnections']};"
                f" server RSS {rss['before_subscribers']:.1f} -> {rss['subscribers_idle']:.1f} (idle)"
                f" -> {rss['after_load']:.1f} MiB; CPU share while sending: server {cpu['server']:.2f},"
                f" subscribers {cpu['subscribers_process']:.2f}, sender {cpu['sender_process']:.2f},"
                f" other tenants on the server's CPU {cpu['others_on_server_cpu']:.2f}"
                f" and on the load CPU {cpu['others_on_load_cpu']:.2f};"
                f" drained {r['drain_seconds_after_last_send']:.1f} s after the last send"
            )
    if sse := results.get("sse"):
        for kind, mine in sse["this tree"].items():
            stats = sse_medians(mine["runs"])
            base = sse.get("baseline", {}).get(kind)
            met = "met" if stats["p99_ms"] <= 1.0 else "**missed**"
            base_stats = sse_medians(base["runs"]) if base else stats
            row(
                f"2xx -> {kind} SSE event, 1 subscriber at {mine['runs'][0]['rate_per_s']:.0f}/s"
                f" (median of {len(mine['runs'])} runs' p50 / p99)",
                stats,
                f"same, {base['runs'][0]['tree']}" if base else "(no --baseline-tree)",
                base_stats,
                f"p99 <= 1 ms: {met}",
            )
            for label, found in sse.items():
                for r in found[kind]["runs"]:
                    latency = r["latency"]
                    notes.append(
                        f"sse, {kind}, {label}: p50/p99 {latency['p50_ms']:.2f}/{latency['p99_ms']:.2f} ms;"
                        f" {r['acknowledged']}/{r['sent']} acknowledged, lost {r['lost']}, duplicates"
                        f" {r['duplicates']}, out of order {r['out_of_order']}; CPU share: server"
                        f" {r['cpu_share_while_sending']['server']:.2f}, other tenants on its CPU"
                        f" {r['cpu_share_while_sending']['others_on_server_cpu']:.2f}"
                    )
    if page := results.get("page"):
        t = page["timings"]
        big = f"{page['stored']:,}"
        row(
            f"GET /bins/{{id}} ({big} stored)",
            t["page_big"],
            "GET /healthz",
            t["healthz"],
            f"< 100 ms: {'met' if t['page_big']['p99_ms'] < 100 else '**missed**'}",
        )
        row(f"GET /bins/{{id}} ({big} stored)", t["page_big"], "GET /bins/{id} (empty)", t["page_empty"])
        row("GET /bins/{id} (100 stored)", t["page_100"], "GET /bins/{id} (empty)", t["page_empty"])
        row(
            f"GET /api/.../requests?limit=50 ({big})", t["api_big"], "same, 100 stored", t["api_100"], "equal"
        )
        notes.append(
            f"page: seeded {page['requests_seeded']:,} in {page['seed_seconds']:.1f} s; big page shows"
            f" {page['page_big_rows_shown']} rows, count shown: {page['page_big_count_shown']},"
            f" {page['page_big_bytes']:,} bytes; first request ms: "
            + ", ".join(f"{k} {v:.1f}" for k, v in page["first_request_ms"].items())
        )
    for name, result in results.items():
        for run in _runs(result):
            if run.get("send_failures"):
                notes.append(f"{name}: send failures {run.get('failure_reasons') or run['send_failures']}")
            for stream_errors in [run.get("errors")] + [
                run.get(k, {}).get("errors") for k in ("json_stream", "html_stream")
            ]:
                if stream_errors:
                    notes.append(f"{name}: SSE client saw: {'; '.join(stream_errors)}")
            if run.get("server_log", "").strip():
                notes.append(f"{name}: server log: {run['server_log'].strip()[-600:]!r}")
    for name, share in results.get("cpu_busy_share", {}).items():
        notes.append(
            f"{name}: CPUs busy (everyone's work) "
            + ", ".join(f"{cpu} {value:.2f}" for cpu, value in share.items() if cpu.startswith("cpu"))
            + f"; 1-minute load average after it {share['loadavg_1min_after']:.2f}"
        )
    return out + [""] + [f"- {note}" for note in notes]


def _runs(result: Any) -> list[dict[str, Any]]:
    """Every single-server run inside one measurement's results."""
    if isinstance(result, dict) and "command" in result:
        return [result]
    if isinstance(result, dict):
        return [run for value in result.values() for run in _runs(value)]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "measurements", nargs="*", metavar="{dom,fanout,page,sse}", help="default: dom, fanout and page"
    )
    parser.add_argument("--dom-captures", type=int, default=200)
    parser.add_argument("--dom-rate", type=float, default=10.0, help="captures per second")
    parser.add_argument("--fanout-subscribers", type=int, default=100)
    parser.add_argument("--fanout-rate", type=float, default=200.0, help="captures per second")
    parser.add_argument("--fanout-seconds", type=float, default=12.0)
    parser.add_argument("--fanout-streams", default="json", help="comma-separated: json, html")
    parser.add_argument(
        "--subscriber-clients",
        default="httpx,raw",
        help="comma-separated SSE clients for the fan-out subscribers: httpx, raw (bare asyncio, cheaper)",
    )
    parser.add_argument("--sender", default="raw", choices=["raw", "httpx"], help="fan-out capture sender")
    parser.add_argument("--drain-seconds", type=float, default=20.0, help="how long to wait for stragglers")
    parser.add_argument("--sse-rate", type=float, default=50.0, help="captures per second")
    parser.add_argument("--sse-seconds", type=float, default=10.0, help="seconds of captures per run")
    parser.add_argument(
        "--sse-rounds", type=int, default=3, help="runs per tree and stream; medians reported"
    )
    parser.add_argument("--sse-streams", default="json,html", help="comma-separated: json, html")
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="for sse: also run `inspector serve` from this checkout (say, `git worktree add --detach`"
        " of the commit before a change)",
    )
    parser.add_argument("--page-requests", type=int, default=10_000, help="requests stored in the big bin")
    parser.add_argument("--page-samples", type=int, default=200)
    parser.add_argument("--page-warmup", type=int, default=5)
    parser.add_argument("--synchronous", default="full", help="SQLite synchronous setting for the server")
    parser.add_argument("--server-cpu", default="0", help="CPU for the server (taskset)")
    parser.add_argument("--load-cpu", default="1", help="CPU for this script, its children and chromium")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--output", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    if unknown := set(args.measurements) - set(MEASUREMENTS):
        parser.error(f"unknown measurement: {', '.join(sorted(unknown))}")
    # sse is asked for by name: its baseline runs make it the longest.
    chosen = [m for m in MEASUREMENTS if m in (args.measurements or MEASUREMENTS[:3])]
    if not shutil.which("taskset"):
        print("taskset not found: server and load are not pinned", file=sys.stderr)
        args.server_cpu = args.load_cpu = None
    elif hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(args.load_cpu)})  # inherited by chromium and the subscriber process

    print("command:", shlex.join([sys.executable, *sys.argv]), flush=True)
    # The server runs `python -m inspector` from this directory: say which code that is.
    source = subprocess.run(
        [sys.executable, "-c", "import inspector; print(inspector.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    print(f"cwd: {Path.cwd()}; server code: {source}", flush=True)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "argv": sys.argv,
        "cwd": str(Path.cwd()),
        "inspector_source": source,
    }
    with tempfile.TemporaryDirectory(prefix="inspector-live-") as tmp:
        workdir = Path(tmp)
        steps: dict[str, Callable[[], Any]] = {
            "dom": lambda: asyncio.run(measure_dom(args, workdir)),
            "fanout": lambda: measure_fanout(args, workdir),
            "page": lambda: measure_page(args, workdir),
            "sse": lambda: measure_sse(args, workdir),
        }
        for name in chosen:
            started = time.monotonic()
            busy = {cpu: cpu_busy_seconds(cpu) for cpu in (args.server_cpu, args.load_cpu)}
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results[name] = steps[name]()
            elapsed = time.monotonic() - started
            print(f"  {name} took {elapsed:.0f} s", file=sys.stderr, flush=True)
            # How busy each CPU was over the whole measurement, ours and everyone else's work together.
            results.setdefault("cpu_busy_share", {})[name] = {
                f"cpu{cpu}": (cpu_busy_seconds(cpu) - before) / elapsed for cpu, before in busy.items()
            }
            results["cpu_busy_share"][name]["loadavg_1min_after"] = float(
                Path("/proc/loadavg").read_text().split()[0]
            )
    server_command = next(
        (shlex.join(r["command"]) for r in [results.get("dom"), results.get("page")] if r),
        "python -m inspector serve ...",
    )
    print(f"\nserver: {server_command} (fresh server and database per measurement)")
    print(f"pins: server CPU {args.server_cpu}, this script, its children and chromium CPU {args.load_cpu}\n")
    print("\n".join(report(results)))
    if args.output:
        args.output.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
