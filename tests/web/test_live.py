"""Live streams over real HTTP: catch-up then live, resume by Last-Event-ID or `after`, pings, no gaps."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest
from conftest import ServerProcess, read_sse


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
        assert 'id="request-count" hx-swap-oob="true"' in message["data"]
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
