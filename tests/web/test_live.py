"""Live streams over real HTTP: catch-up then live, resume by Last-Event-ID or `after`, pings, no gaps."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import RecordingTarget, ServerProcess, read_sse, send_raw


def capture(client: httpx.Client, bin_id: str, body: bytes = b"{}", path: str = "/hook") -> int:
    response = client.post(f"/b/{bin_id}{path}", content=body)
    assert response.status_code == 200
    return int(response.headers["x-inspector-request-id"])


def request_events(events, count: int) -> list[dict]:
    found = []
    for event in events:
        if event.get("event") == "request":
            found.append(event)
            if len(found) == count:
                break
    return found


def test_json_stream_catches_up_then_goes_live(
    server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    earlier = [capture(client, bin_id, f'{{"n": {n}}}'.encode()) for n in range(3)]
    with httpx.stream(
        "GET", f"{server.url}/api/bins/{bin_id}/stream", params={"after": 0}, timeout=10
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = read_sse(stream)
        caught_up = request_events(events, 3)
        assert [int(e["id"]) for e in caught_up] == earlier
        live_id = capture(client, bin_id, b'{"live": true}', "/after?x=1")
        (live,) = request_events(events, 1)
    assert int(live["id"]) == live_id
    payload = json.loads(live["data"])
    assert payload["id"] == live_id
    assert payload["sub_path"] == "/after"
    assert payload["query"] == "x=1"
    assert payload["body"] == '{"live": true}'
    assert payload["body_encoding"] == "utf-8"


def test_resume_with_last_event_id(server: ServerProcess, client: httpx.Client, bin_id: str) -> None:
    first, second, third = (capture(client, bin_id) for _ in range(3))
    headers = {"last-event-id": str(first)}
    with httpx.stream("GET", f"{server.url}/api/bins/{bin_id}/stream", headers=headers, timeout=10) as stream:
        received = request_events(read_sse(stream), 2)
    assert [int(e["id"]) for e in received] == [second, third]


def test_no_request_is_missed_while_connecting(
    server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    """Captures keep arriving while the stream connects and catches up: each is seen once, in order."""
    sent: list[int] = []
    stop = threading.Event()

    def sender() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for n in range(300):
                if stop.is_set():
                    return
                sent.append(capture(http, bin_id, str(n).encode()))

    thread = threading.Thread(target=sender)
    thread.start()
    try:
        while len(sent) < 50:
            time.sleep(0.005)
        with httpx.stream("GET", f"{server.url}/api/bins/{bin_id}/stream?after=0", timeout=20) as stream:
            events = read_sse(stream)
            thread.join(60)
            received = [int(e["id"]) for e in request_events(events, len(sent))]
    finally:
        stop.set()
        thread.join(60)
    assert received == sent


def test_html_stream_sends_escaped_row_fragments(
    server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    with httpx.stream("GET", f"{server.url}/bins/{bin_id}/events?after=0", timeout=10) as stream:
        events = read_sse(stream)
        request_id = capture(client, bin_id, b"x", "/%3Cscript%3E")
        client.post(f"/b/{bin_id}", headers={"x-evil": "<script>alert(1)</script>"})
        message = next(e for e in events if "data" in e)
        assert "event" not in message  # unnamed: htmx swaps it as "message"
        assert message["id"] == str(request_id)
        assert f'<tr id="r-{request_id}"' in message["data"]
        assert 'id="request-total" hx-swap-oob="true"' in message["data"]
        assert "<script>" not in message["data"]

        client.delete(f"/api/bins/{bin_id}/requests/{request_id}")
        removal = next(e for e in events if "data" in e and "live-remove" in e["data"])
        assert f'data-ids="r-{request_id} request-{request_id}"' in removal["data"]
        assert "id" not in removal  # only captures move the resume point


def test_bin_events_clear_and_delete(server: ServerProcess, client: httpx.Client, bin_id: str) -> None:
    capture(client, bin_id)
    with httpx.stream("GET", f"{server.url}/api/bins/{bin_id}/stream?after=0", timeout=10) as stream:
        events = read_sse(stream)
        request_events(events, 1)
        client.delete(f"/api/bins/{bin_id}/requests")
        cleared = next(e for e in events if e.get("event") == "bin_cleared")
        assert json.loads(cleared["data"])["bin_id"] == bin_id
        client.delete(f"/api/bins/{bin_id}")
        deleted = next(e for e in events if e.get("event") == "bin_deleted")
        assert json.loads(deleted["data"]) == {"kind": "bin_deleted", "bin_id": bin_id, "request_id": None}
        assert list(events) == []  # the stream ends with its bin


def test_keep_alive_pings(start_server) -> None:
    server = start_server("--sse-ping", "0.2")
    bin_id = httpx.post(f"{server.url}/api/bins").json()["id"]
    started = time.monotonic()
    with httpx.stream("GET", f"{server.url}/api/bins/{bin_id}/stream", timeout=10) as stream:
        comments = []
        for event in read_sse(stream):
            if "comment" in event:
                comments.append(event["comment"])
            if len(comments) == 3:
                break
    assert all(comment.startswith("ping") for comment in comments)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("path", ["/api/bins/nope/stream", "/bins/nope/events"])
def test_streams_of_unknown_bins_are_404(client: httpx.Client, path: str) -> None:
    assert client.get(path).status_code == 404


def test_live_stream_does_not_hold_up_shutdown(start_server) -> None:
    server = start_server()
    bin_id = httpx.post(f"{server.url}/api/bins").json()["id"]
    with httpx.stream("GET", f"{server.url}/api/bins/{bin_id}/stream", timeout=10) as stream:
        assert stream.status_code == 200
        started = time.monotonic()
        server.process.terminate()
        assert server.process.wait(15) is not None
    assert time.monotonic() - started < 5
    assert "stopped cleanly" in server.log


async def test_each_event_is_rendered_once_for_all_subscribers() -> None:
    from inspector.web.live import RenderOnce

    renders = 0

    async def render() -> bytes:
        nonlocal renders
        renders += 1
        await asyncio.sleep(0.01)  # a store read: other subscribers arrive meanwhile
        return b"data: <tr>fragment</tr>\n\n"

    shared = RenderOnce()
    results = await asyncio.gather(*(shared.get(("request", "bin", 7), render) for _ in range(100)))
    assert results == [b"data: <tr>fragment</tr>\n\n"] * 100
    assert renders == 1
    assert await shared.get(("request", "bin", 8), render) == b"data: <tr>fragment</tr>\n\n"
    assert renders == 2


def opens(http: httpx.Client, url: str, headers: dict[str, str] | None = None, within: float = 5) -> bool:
    """Whether a stream at `url` is accepted within `within` s (slots free once the server sees a close)."""
    for _ in range(int(within / 0.1)):
        with http.stream("GET", url, headers=headers) as response:
            if response.status_code == 200:
                return True
            assert response.status_code == 429
        time.sleep(0.1)
    return False


def refusal(http: httpx.Client, url: str, headers: dict[str, str] | None = None) -> str:
    """The detail of a stream refused with 429 (a stream, so that an accepted one cannot hang the test)."""
    with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 429
        response.read()
        return response.json()["detail"]


def test_live_streams_per_bin_are_capped(start_server) -> None:
    """Every kind of stream counts against its bin; past the cap, 429 before any stream starts."""
    server = start_server("--max-streams-per-bin", "2")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        bin_id, other = (http.post("/api/bins").json()["id"] for _ in range(2))
        dashboard = http.stream("GET", f"/bins/{bin_id}/events")
        api = http.stream("GET", f"/api/bins/{bin_id}/stream")
        with dashboard as first, api as second:
            assert (first.status_code, second.status_code) == (200, 200)
            smee = refusal(http, f"/b/{bin_id}", headers={"accept": "text/event-stream"})
            assert "This bin already has 2 live streams open" in smee
            assert "already has 2 live streams open" in refusal(http, f"/api/bins/{bin_id}/stream")
            with http.stream("GET", f"/api/bins/{other}/stream") as elsewhere:
                assert elsewhere.status_code == 200  # the cap is per bin
            first.close()  # a closed stream gives its slot back
            assert opens(http, f"/b/{bin_id}", headers={"accept": "text/event-stream"})


def test_live_streams_per_client_are_capped_by_proxy_aware_address(start_server) -> None:
    """The cap follows the address the trusted proxy reports; a stream ending with its bin frees its slot."""
    server = start_server("--max-streams-per-client", "2", "--trusted-proxy", "127.0.0.1")
    alice = {"x-forwarded-for": "203.0.113.7"}
    bob = {"x-forwarded-for": "203.0.113.8"}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        first, second, third = (http.post("/api/bins").json()["id"] for _ in range(3))
        with (
            http.stream("GET", f"/api/bins/{first}/stream", headers=alice) as one,
            http.stream("GET", f"/bins/{second}/events", headers=alice) as two,
        ):
            assert (one.status_code, two.status_code) == (200, 200)
            refused = refusal(http, f"/api/bins/{third}/stream", headers=alice)
            assert "Your address already has 2 live streams open" in refused
            with http.stream("GET", f"/api/bins/{third}/stream", headers=bob) as others:
                assert others.status_code == 200
            assert http.delete(f"/api/bins/{first}").status_code == 204
            assert opens(http, f"/api/bins/{third}/stream", headers=alice)


async def test_follow_sends_each_request_once_in_order_whatever_order_events_arrive_in(tmp_path) -> None:
    """Processes publish on their own schedules, and one may die between its commit and its publish:
    a live view must still get every committed request once, in id order."""
    from store.storetools import make_bin, make_request

    from inspector.hub import Event
    from inspector.hub.local import LocalHub
    from inspector.store.sqlite import SQLiteStore
    from inspector.web.live import follow

    store, hub = SQLiteStore(tmp_path / "live.db"), LocalHub()
    await store.open()
    await hub.open()
    try:
        await store.create_bin(make_bin("b"))
        first = await store.add_request(make_request("b"))
        stream = follow(store, hub, "b", after=first)
        seen: list[int] = []

        async def read(count: int) -> None:
            while len(seen) < count:
                event = await anext(stream)
                seen.append(event.request_id or 0)

        reader = asyncio.create_task(read(4))
        await asyncio.sleep(0.05)  # subscribed and caught up (nothing after `first`)
        ids = [await store.add_request(make_request("b")) for _ in range(4)]
        # The event of the second commit arrives before the first's; the third's never comes (its
        # process died after committing); the fourth's arrives last.
        for request_id in (ids[1], ids[0], ids[3]):
            await hub.publish(Event(kind="request", bin_id="b", request_id=request_id))
        await asyncio.wait_for(reader, 5)
        assert seen == ids
    finally:
        await stream.aclose()
        await hub.close()
        await store.close()


async def wait_until(done: Callable[[], bool], within: float = 5) -> None:
    for _ in range(int(within / 0.01)):
        if done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_follow_passes_on_a_held_capture_only_when_it_proves_it_is_the_next_row(tmp_path) -> None:
    """Events from this process carry the capture and the id committed before it in its bin: a capture
    whose `previous` is the last id sent goes out as the event holds it (no store read); any other
    (a capture whose event never came, events out of order) makes follow read the store, so every
    committed request still comes once, in id order."""
    from store.storetools import make_bin, make_request

    from inspector.capture import captured_event
    from inspector.hub.local import LocalHub
    from inspector.store.sqlite import SQLiteStore
    from inspector.web.live import follow

    store, hub = SQLiteStore(tmp_path / "live.db"), LocalHub()
    await store.open()
    await hub.open()
    stream = None
    try:
        await store.create_bin(make_bin("b"))
        first = await store.add_capture(make_request("b"))
        stream = follow(store, hub, "b", after=first.id)
        seen: list = []

        async def read(count: int) -> None:
            while len(seen) < count:
                seen.append(await anext(stream))

        reader = asyncio.create_task(read(6))
        await asyncio.sleep(0.05)  # subscribed and caught up (nothing after `first`)
        requests = [make_request("b", body=str(n).encode()) for n in range(6)]
        stored = [await store.add_capture(request) for request in requests[:5]]
        events = [captured_event(r, s) for r, s in zip(requests, stored, strict=False)]
        # In order: held. Then the third's event is lost and the fifth's comes before the fourth's.
        for n in (0, 1, 4, 3):
            await hub.publish(events[n])
        await wait_until(lambda: len(seen) == 5)
        stored.append(await store.add_capture(requests[5]))  # the next one, after the gap was read
        events.append(captured_event(requests[5], stored[5]))
        assert [e.previous for e in events] == [first.id, *(s.id for s in stored[:-1])]
        await hub.publish(events[5])
        await asyncio.wait_for(reader, 5)
        assert [e.request_id for e in seen] == [s.id for s in stored]
        held = [n for n, event in enumerate(seen) if event is events[n]]
        assert held == [0, 1, 5]  # the rest were read from the store, after the gap was seen
    finally:
        if stream is not None:
            await stream.aclose()
        await hub.close()
        await store.close()


async def test_a_held_capture_renders_as_the_stored_one_without_the_store(tmp_path) -> None:
    """The JSON and smee renderings of a held capture equal those of the stored request, labels
    included, and need no store: they are made here after the store has closed."""
    from store.storetools import make_bin, make_request

    from inspector.app import _resource_dir
    from inspector.capture import captured_event
    from inspector.hub import Event
    from inspector.store.sqlite import SQLiteStore
    from inspector.web.live import LiveViews
    from inspector.web.templating import create_environment

    store = SQLiteStore(tmp_path / "live.db")
    await store.open()
    templates = create_environment(_resource_dir("templates"))
    await store.create_bin(make_bin("b"))
    # Zoom: a provider and an event type, and no delivery id (which would need a store probe).
    request = make_request("b", body=b'{"event": "meeting.started"}', headers=[("x-zm-signature", "v0=1")])
    stored = await store.add_capture(request)
    from_store = LiveViews(store, templates)
    plain = Event(kind="request", bin_id="b", request_id=stored.id)
    expected = (await from_store.json(plain), await from_store.smee(plain))
    assert b"meeting.started" in (expected[0] or b"")
    await store.close()
    held = LiveViews(store, templates)
    event = captured_event(request, stored)
    assert (await held.json(event), await held.smee(event)) == expected


async def test_a_dashboard_row_comes_from_the_held_capture_unless_the_store_knows_more(tmp_path) -> None:
    """The row of a held capture is rendered from it: the store is not asked (here the row is deleted
    before rendering, and still rendered; the deletion's own event removes it). Rows whose badges or
    duplicate mark only the store knows are read: bins with background work, captures with a
    delivery id (for those the deleted row renders nothing)."""
    from store.storetools import make_bin, make_request

    from inspector.app import _resource_dir
    from inspector.capture import captured_event
    from inspector.store.sqlite import SQLiteStore
    from inspector.web.live import LiveViews
    from inspector.web.templating import create_environment

    store = SQLiteStore(tmp_path / "live.db")
    await store.open()
    try:
        views = LiveViews(store, create_environment(_resource_dir("templates")))
        await store.create_bin(make_bin("b"))
        github = [("x-github-event", "push"), ("x-github-delivery", "d-1")]
        cases = [
            (make_request("b"), False),
            (make_request("b"), True),
            (make_request("b", headers=github), False),
        ]
        rendered = []
        for request, background in cases:
            stored = await store.add_capture(request)
            assert await store.delete_request("b", stored.id)
            rendered.append(await views.html(captured_event(request, stored, background=background)))
        assert rendered[0] is not None and f'id="r-{stored.id - 2}"'.encode() in rendered[0]
        assert rendered[1:] == [None, None]
    finally:
        await store.close()


async def test_a_filtered_follow_sends_each_matching_request_once_in_order(tmp_path) -> None:
    """The same under a filter: events out of order or missing, captures that do not match in
    between, and a bin longer than one scan window: every match once, in id order."""
    from store.storetools import make_bin, make_request

    from inspector.hub import Event
    from inspector.hub.local import LocalHub
    from inspector.search import parse_filters
    from inspector.store.sqlite import SQLiteStore
    from inspector.web import live

    store, hub = SQLiteStore(tmp_path / "live.db"), LocalHub()
    await store.open()
    await hub.open()
    stream = None
    try:
        await store.create_bin(make_bin("b", max_requests=100_000))
        # More than a scan window of captures that do not match, before and between the matches.
        for _ in range(2100):
            await store.add_request(make_request("b", method="POST"))
        early = await store.add_request(make_request("b", method="PUT"))
        stream = live.follow(store, hub, "b", after=0, query=parse_filters([("method", "PUT")]))
        seen: list[int] = []

        async def read(count: int) -> None:
            while len(seen) < count:
                event = await anext(stream)
                seen.append(event.request_id or 0)

        reader = asyncio.create_task(read(4))
        await asyncio.sleep(0.2)  # subscribed and caught up: `early`, found past the first window
        ids = []
        for n in range(6):
            ids.append(await store.add_request(make_request("b", method="PUT" if n % 2 else "POST")))
        puts = ids[1::2]
        for request_id in (ids[3], ids[1], ids[0]):  # out of order; the last ones' events never come
            await hub.publish(Event(kind="request", bin_id="b", request_id=request_id))
        await asyncio.wait_for(reader, 5)
        assert seen == [early, *puts]  # the last one found by the read the event of ids[3] cued
    finally:
        if stream is not None:
            await stream.aclose()
        await hub.close()
        await store.close()


# --- the smee channel, with the real smee-client from npm --------------------------------------------


class SmeeProcess:
    """`node smee.js --url BIN_URL --target TARGET`, its output collected line by line as it comes."""

    def __init__(self, script: Path, url: str, target: str) -> None:
        self.process = subprocess.Popen(
            ["node", str(script), "--url", url, "--target", target],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, text: str, *, count: int = 1, timeout: float = 30) -> None:
        """Wait until `text` has appeared in `count` lines (smee-client says "Connected" on every open)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(text in line for line in self.lines) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0 and self.process.poll() is None, self.lines
                self._changed.wait(min(remaining, 0.2))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def smee(smee_client: Path) -> Iterator[Callable[[str, str], SmeeProcess]]:
    started: list[SmeeProcess] = []

    def start(url: str, target: str) -> SmeeProcess:
        started.append(SmeeProcess(smee_client, url, target))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def test_smee_client_receives_every_capture_once_across_server_restarts(
    start_server: Callable[..., ServerProcess],
    target: RecordingTarget,
    smee: Callable[[str, str], SmeeProcess],
) -> None:
    """Captures made while smee-client reconnects to a restarted server reach it, each once: after
    a restart before anything was received (it resumes at the `ready` event's id) and after one
    with captures received (it resumes at the Last-Event-ID of the last one)."""
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        bin_id = http.post("/api/bins").json()["id"]
    client = smee(f"{server.url}/b/{bin_id}", f"{target.url}/hook")
    client.wait_for("Connected")
    sent = 0

    def burst(server: ServerProcess, count: int) -> None:
        nonlocal sent
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for _ in range(count):
                capture(http, bin_id, json.dumps({"n": sent}).encode())
                sent += 1

    for round_ in range(2):
        assert server.stop() == -signal.SIGTERM
        server = start_server(db_path=server.db_path, port=server.port)
        burst(server, 4)  # at once: smee-client is still reconnecting
        client.wait_for("Connected", count=round_ + 2)
        target.wait_for(sent, timeout=30)
    time.sleep(1.5)  # anything delivered twice would arrive now
    received = Counter(json.loads(request.body)["n"] for request in target.requests)
    assert received == Counter(range(sent)), received


def test_smee_events_carry_sub_path_repeated_query_values_and_every_header(
    server: ServerProcess, client: httpx.Client, bin_id: str, target: RecordingTarget, smee: Callable
) -> None:
    listener = smee(f"{server.url}/b/{bin_id}", f"{target.url}/webhooks")
    listener.wait_for("Connected")
    body = b'{"action": "opened"}'
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    raw = (
        f"POST /b/{bin_id}/github/push?b=2&a=1&a=3 HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "X-Dup: one\r\nContent-Type: application/json\r\nX-GitHub-Event: pull_request\r\n"
        "X-Dup: two\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode() + chunked
    assert send_raw(server.url, raw).startswith(b"HTTP/1.1 200")
    [received] = target.wait_for(1)
    # smee-client always posts to its --target, and writes a repeated value as "1,3".
    assert received.method == "POST"
    assert received.target == "/webhooks?b=2&a=1%2C3"
    headers = dict(received.header_list())
    assert headers["x-inspector-path"] == "/github/push"
    assert headers["x-dup"] == "one, two"
    assert headers["x-github-event"] == "pull_request"
    assert json.loads(received.body) == {"action": "opened"}
    # The sender's chunked framing describes its connection: smee-client's fetch refuses it.
    assert "transfer-encoding" not in headers


def test_a_filtered_stream_sends_only_matching_captures(
    server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    capture(client, bin_id, b"{}", "/other")
    before = capture(client, bin_id, b'{"type": "a"}', "/orders/1")
    params = {"after": 0, "path": "/orders/*", "json": "type:a"}
    with httpx.stream("GET", f"{server.url}/api/bins/{bin_id}/stream", params=params, timeout=10) as stream:
        events = read_sse(stream)
        (caught_up,) = request_events(events, 1)
        capture(client, bin_id, b'{"type": "a"}', "/other")
        capture(client, bin_id, b'{"type": "b"}', "/orders/2")
        live_id = capture(client, bin_id, b'{"type": "a"}', "/orders/3")
        (live,) = request_events(events, 1)
    assert int(caught_up["id"]) == before
    assert int(live["id"]) == live_id  # the two captures in between did not pass


def test_a_stream_refuses_unknown_filters(server: ServerProcess, bin_id: str) -> None:
    response = httpx.get(f"{server.url}/api/bins/{bin_id}/stream?pth=/x", timeout=10)
    assert response.status_code == 400
    assert "pth" in response.text


# -- waiting for the next capture ----------------------------------------------------------------


def _in_background(call) -> tuple[threading.Thread, list]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


def test_next_answers_a_capture_made_after_the_call_started(
    server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    earlier = capture(client, bin_id)
    url = f"{server.url}/api/bins/{bin_id}/requests/next"
    thread, result = _in_background(lambda: httpx.get(url, params={"timeout": 20}, timeout=30))
    later = []
    for n in range(60):  # until the call answers; it may take a moment to start
        later.append(capture(client, bin_id, f'{{"n": {n}}}'.encode(), "/later"))
        thread.join(0.25)
        if not thread.is_alive():
            break
    (answer,) = result
    assert answer.status_code == 200
    assert answer.json()["id"] in later and answer.json()["id"] != earlier
    assert answer.json()["sub_path"] == "/later"


def test_next_with_after_and_filters_skips_what_does_not_match(
    server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    start = capture(client, bin_id)
    capture(client, bin_id, b'{"type": "a"}', "/skip")
    url = f"{server.url}/api/bins/{bin_id}/requests/next"
    params = {"after": start, "json": "type:b", "timeout": 20}
    thread, result = _in_background(lambda: httpx.get(url, params=params, timeout=30))
    time.sleep(0.3)
    capture(client, bin_id, b'{"type": "c"}', "/skip")
    wanted = capture(client, bin_id, b'{"type": "b"}', "/hit")
    thread.join(25)
    (answer,) = result
    assert answer.status_code == 200 and answer.json()["id"] == wanted
    # Already there: answered at once.
    again = httpx.get(url, params={"after": start, "path": "/hit", "timeout": 5}, timeout=10)
    assert again.json()["id"] == wanted


def test_next_times_out_with_204(server: ServerProcess, client: httpx.Client, bin_id: str) -> None:
    capture(client, bin_id)  # made before the call: not what it waits for
    began = time.monotonic()
    answer = httpx.get(f"{server.url}/api/bins/{bin_id}/requests/next?timeout=0.5", timeout=10)
    assert answer.status_code == 204 and answer.content == b""
    assert 0.4 < time.monotonic() - began < 5


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [("timeout=0", 400, "timeout"), ("timeout=9999", 400, "timeout"), ("evnt=push", 400, "evnt")],
)
def test_next_refuses_bad_parameters(
    server: ServerProcess, bin_id: str, query: str, status: int, fragment: str
) -> None:
    answer = httpx.get(f"{server.url}/api/bins/{bin_id}/requests/next?{query}", timeout=10)
    assert answer.status_code == status and fragment in answer.text


def test_next_on_a_missing_bin_is_a_404(server: ServerProcess) -> None:
    assert (
        httpx.get(f"{server.url}/api/bins/no-such-bin-x/requests/next?timeout=1", timeout=10).status_code
        == 404
    )


def test_streams_end_when_their_holder_may_no_longer_read_the_bin(
    server: ServerProcess, client: httpx.Client
) -> None:
    """Access was checked only when a stream opened: a stranger's stream of an open bin went on
    receiving every capture after the bin was made private, and a share stream after its link was replaced."""
    created = client.post("/api/bins", json={"private": False}).json()
    bin_id, owner = created["id"], {"Authorization": f"Bearer {created['token']}"}
    url = f"{server.url}/api/bins/{bin_id}/stream"
    with (
        httpx.stream("GET", url, timeout=10) as stranger,
        httpx.stream("GET", url, headers=owner, timeout=10) as owners,
    ):
        stranger_events, owner_events = read_sse(stranger), read_sse(owners)
        first = capture(client, bin_id)
        assert json.loads(request_events(stranger_events, 1)[0]["data"])["id"] == first
        assert client.patch(f"/api/bins/{bin_id}", json={"private": True}, headers=owner).status_code == 200
        second = capture(client, bin_id)
        assert [e for e in stranger_events if e.get("event") == "request"] == []  # ended before the capture
        assert [json.loads(e["data"])["id"] for e in request_events(owner_events, 2)] == [first, second]

    share = client.post(f"/api/bins/{bin_id}/share", headers=owner).json()["share_token"]
    with httpx.stream("GET", url, params={"share": share, "after": second}, timeout=10) as shared:
        events = read_sse(shared)
        third = capture(client, bin_id)
        assert json.loads(request_events(events, 1)[0]["data"])["id"] == third
        client.post(f"/api/bins/{bin_id}/share", headers=owner)  # a new link: the old one stops working
        capture(client, bin_id)
        assert [e for e in events if e.get("event") == "request"] == []


def test_live_rows_of_captures_say_what_stored_rows_say(
    server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    """Live events rendered from the capture itself carry the detected provider and event, and a
    repeated delivery id still shows as a duplicate (that row is read from the store)."""
    github = {"x-github-event": "push", "x-github-delivery": "d-1"}
    zoom = {"x-zm-signature": "v0=1", "content-type": "application/json"}
    with (
        httpx.stream("GET", f"{server.url}/api/bins/{bin_id}/stream", timeout=10) as api,
        httpx.stream("GET", f"{server.url}/bins/{bin_id}/events", timeout=10) as page,
    ):
        events, rows = read_sse(api), read_sse(page)
        time.sleep(0.2)  # both streams subscribed
        sent = []
        for headers, body in (
            ({}, b"{}"),
            ({}, b"{}"),  # its previous is the first: held, not read
            (zoom, b'{"event": "meeting.started"}'),
            (github, b"{}"),
            (github, b"{}"),
        ):
            response = client.post(f"/b/{bin_id}/hook", content=body, headers=headers)
            sent.append(int(response.headers["x-inspector-request-id"]))
        live = request_events(events, 5)
        fragments = []
        for event in rows:
            if "id" in event:
                fragments.append(event["data"])
            if len(fragments) == 5:
                break
    assert [int(e["id"]) for e in live] == sent
    for event, request_id in zip(live, sent, strict=True):
        assert json.loads(event["data"]) == client.get(f"/api/bins/{bin_id}/requests/{request_id}").json()
    assert "zoom · meeting.started" in fragments[2]
    assert "github · push" in fragments[3]
    assert f"duplicate of #{sent[3]}" in fragments[4]
    assert all(f'id="r-{request_id}"' in f for f, request_id in zip(fragments, sent, strict=True))
