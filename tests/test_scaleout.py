"""Several server processes on one PostgreSQL database and one Redis: nothing lost, nothing done twice."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle

import httpx
import pytest
from conftest import RecordingTarget, free_port, read_sse, require_service
from store.storetools import scratch_database


@pytest.fixture
def shared(tmp_path) -> Iterator[tuple[str, ...]]:
    """Flags for servers sharing one fresh database and one Redis."""
    require_service("Redis", 6379)
    with scratch_database() as url:
        yield ("--database-url", url, "--hub-url", "redis://127.0.0.1:6379/0")


def send_concurrently(urls: list[str], *, clients: int = 50, within: float = 240) -> list[int]:
    """POST to each URL from `clients` threads; the ids of the captures acknowledged with a 2xx.

    A URL whose server is gone counts as not acknowledged; any other answer than 200 fails.
    """
    pool_clients = [httpx.Client(timeout=30) for _ in range(clients)]
    deadline = time.monotonic() + within

    def send(index: int) -> int | None:
        if time.monotonic() > deadline:
            return None
        try:
            answer = pool_clients[index % clients].post(urls[index], content=str(index).encode())
        except httpx.TransportError:
            return None  # its server was killed: not acknowledged, so nothing is promised
        assert answer.status_code == 200, answer.text
        return int(answer.headers["x-inspector-request-id"])

    try:
        with ThreadPoolExecutor(clients) as pool:
            acknowledged = [rid for rid in pool.map(send, range(len(urls))) if rid is not None]
    finally:
        for client in pool_clients:
            client.close()
    assert len(set(acknowledged)) == len(acknowledged)  # no id given twice
    return acknowledged


def stored_ids(url: str, bin_id: str) -> list[int]:
    stored: list[int] = []
    with httpx.Client(base_url=url, timeout=30) as http:
        before = None
        for _ in range(100):  # bounded: 10,000 rows, 500 a page
            page = http.get(
                f"/api/bins/{bin_id}/requests",
                params={"limit": 500, **({"before": before} if before else {})},
            ).json()
            stored += [item["id"] for item in page["items"]]
            if page["next"] is None:
                break
            before = page["next"]
    return stored


def new_bin(url: str) -> str:
    with httpx.Client(base_url=url, timeout=10) as http:
        return http.post("/api/bins", json={"max_requests": 100_000}).json()["id"]


def test_every_acknowledged_capture_across_two_processes_is_stored_once(
    start_server, shared, tmp_path
) -> None:
    servers = [start_server(*shared, db_path=tmp_path / f"unused-{n}.db") for n in range(2)]
    bin_id = new_bin(servers[0].url)
    urls = cycle(server.url for server in servers)
    acknowledged = send_concurrently([f"{next(urls)}/b/{bin_id}/n/{n}" for n in range(10_000)])
    assert len(acknowledged) > 1000, "too few captures in the time allowed to say anything"
    assert sorted(stored_ids(servers[1].url, bin_id)) == sorted(acknowledged)


def test_four_worker_processes_store_every_acknowledged_capture_once(start_server, shared, tmp_path) -> None:
    server = start_server(*shared, "--workers", "4", "--access-log")
    bin_id = new_bin(server.url)
    acknowledged = send_concurrently([f"{server.url}/b/{bin_id}/n/{n}" for n in range(10_000)])
    assert len(acknowledged) > 1000, "too few captures in the time allowed to say anything"
    assert sorted(stored_ids(server.url, bin_id)) == sorted(acknowledged)
    # The captures were answered by several of the worker processes, not one.
    answered_by = {
        line["process"]
        for line in map(json.loads, server.log.splitlines())
        if line.get("logger") == "inspector.access" and line["path"].startswith(f"/b/{bin_id}/")
    }
    assert len(answered_by) >= 2, answered_by


def test_more_workers_than_one_need_postgresql_and_redis(tmp_path) -> None:
    for flags, needed in (
        (("--workers", "2"), "--database-url"),
        (("--workers", "2", *FAKE_PG), "--hub-url"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "inspector", "serve", "--db", str(tmp_path / "x.db"), *flags],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2
        assert needed in result.stderr


FAKE_PG = ("--database-url", "postgresql://nobody@127.0.0.1:1/none")


def test_killing_a_process_under_load_loses_no_acknowledged_capture_and_live_views_elsewhere_go_on(
    start_server, shared, tmp_path
) -> None:
    a, b = (start_server(*shared, db_path=tmp_path / f"unused-{n}.db") for n in range(2))
    bin_id = new_bin(a.url)
    streamed: list[int] = []
    stop = threading.Event()

    def listen() -> None:
        # The JSON live stream on A, which follows what both processes capture.
        url = f"{a.url}/api/bins/{bin_id}/stream"
        with httpx.Client(timeout=httpx.Timeout(10, read=60)) as http, http.stream("GET", url) as response:
            try:
                for event in read_sse(response):
                    if event.get("event") == "request":
                        streamed.append(int(event["id"]))
                    if stop.is_set():
                        return
            except httpx.TransportError:
                if not stop.is_set():
                    raise  # A's stream broke during the test; at teardown A stops, which ends it

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.5)
    urls = [f"{(a, b)[n % 2].url}/b/{bin_id}/n/{n}" for n in range(3000)]
    killer = threading.Timer(3.0, b.kill)  # mid-load: the load takes well over 3 s on these machines
    killer.start()
    try:
        acknowledged = send_concurrently(urls, clients=20, within=120)
    finally:
        killer.cancel()
    assert b.process is not None and b.process.poll() is not None, "B outlived the load: kill it sooner"
    stored = stored_ids(a.url, bin_id)
    assert set(acknowledged) <= set(stored)  # B may have stored one it could not acknowledge
    assert 1000 < len(acknowledged) < len(urls)  # B's share after its death went unanswered
    # One more capture on A, so that a request B committed but never announced is sent too.
    last = httpx.post(f"{a.url}/b/{bin_id}/last", content=b"last")
    assert last.status_code == 200
    stored.append(int(last.headers["x-inspector-request-id"]))
    deadline = time.monotonic() + 30
    while len(streamed) < len(stored) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    assert streamed == sorted(stored)  # every capture of both processes, once, in order


def test_three_processes_forward_and_check_each_capture_once(
    start_server, shared, tmp_path, target: RecordingTarget
) -> None:
    servers = [start_server(*shared, db_path=tmp_path / f"unused-{n}.db") for n in range(3)]
    secret = "it-is-a-secret"
    with httpx.Client(base_url=servers[0].url, timeout=10) as http:
        bin_id = http.post("/api/bins").json()["id"]
        assert http.put(f"/api/bins/{bin_id}/forward", json={"targets": [target.url]}).status_code == 200
        remembered = http.put(f"/api/bins/{bin_id}/secrets/github", json={"secret": secret})
        assert remembered.status_code == 200, remembered.text
    bodies = [f'{{"n": {n}}}'.encode() for n in range(60)]
    for n, body in enumerate(bodies):
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "X-Hub-Signature-256": signature,
            "X-GitHub-Event": "push",
            "Content-Type": "application/json",
        }
        server = servers[n % 3]
        assert httpx.post(f"{server.url}/b/{bin_id}/hook", content=body, headers=headers).status_code == 200

    received = target.wait_for(len(bodies), timeout=60)
    time.sleep(2)  # a second delivery of any capture would have arrived by now
    assert sorted(r.body for r in target.requests) == sorted(bodies)  # each exactly once

    with httpx.Client(base_url=servers[2].url, timeout=10) as http:
        deadline = time.monotonic() + 30
        while True:
            items = http.get(f"/api/bins/{bin_id}/requests", params={"limit": 100}).json()["items"]
            checked = [item for item in items if item["signature"] is not None]
            if len(checked) == len(bodies) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(checked) == len(bodies)
        assert all(item["signature"]["valid"] for item in checked)
    assert len(received) == len(bodies)


def test_a_dashboard_on_one_process_shows_every_capture_made_through_another_in_order(
    start_server, shared, tmp_path, page
) -> None:
    a, b = (start_server(*shared, db_path=tmp_path / f"unused-{n}.db") for n in range(2))
    bin_id = new_bin(a.url)
    page.goto(f"{a.url}/bins/{bin_id}")
    page.wait_for_selector("#live-indicator[data-state=live]")
    acknowledged = send_concurrently([f"{b.url}/b/{bin_id}/n/{n}" for n in range(40)], clients=8, within=60)
    assert len(acknowledged) == 40
    page.wait_for_function("() => document.querySelectorAll('[data-request-id]').length >= 40")
    page.wait_for_timeout(500)  # a duplicate row would have arrived by now
    shown = page.eval_on_selector_all("[data-request-id]", "rows => rows.map(r => +r.dataset.requestId)")
    assert shown == sorted(acknowledged, reverse=True)  # newest first, none missing, none twice


@pytest.fixture
def own_redis() -> Iterator[subprocess.Popen[bytes]]:
    """A Redis server of this test's own, so that the test can stop it."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip("redis-server is not installed: this test runs a Redis of its own")
    port = free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    process.port = port  # type: ignore[attr-defined]
    try:
        for _ in range(100):  # bounded: 10 s
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        yield process
    finally:
        process.kill()
        process.wait()


def test_while_redis_is_down_captures_are_stored_and_answered(start_server, own_redis, tmp_path) -> None:
    with scratch_database() as url:
        hub_url = f"redis://127.0.0.1:{own_redis.port}/0"  # type: ignore[attr-defined]
        # A rate limit, so that the shared (Redis) limiter is on the capture path too.
        server = start_server("--database-url", url, "--hub-url", hub_url, "--bin-rate-limit", "1000")
        bin_id = new_bin(server.url)
        own_redis.kill()
        own_redis.wait()
        answers = [httpx.post(f"{server.url}/b/{bin_id}/n/{n}", content=b"x", timeout=30) for n in range(20)]
        assert [answer.status_code for answer in answers] == [200] * 20
        acknowledged = {int(answer.headers["x-inspector-request-id"]) for answer in answers}
        assert set(stored_ids(server.url, bin_id)) == acknowledged
        health = httpx.get(f"{server.url}/healthz", timeout=30)
        assert health.status_code == 200  # still worth sending captures to
        assert health.json()["hub"].startswith("unreachable")


def test_a_long_poll_on_one_process_wakes_for_a_capture_on_another(start_server, shared, tmp_path) -> None:
    """The hub (Redis) wakes the waiting process; the store (PostgreSQL) answers it."""
    waiting, capturing = (start_server(*shared, db_path=tmp_path / f"unused-{n}.db") for n in range(2))
    bin_id = httpx.post(f"{waiting.url}/api/bins").json()["id"]
    answers: list[httpx.Response] = []
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(
            lambda: httpx.get(
                f"{waiting.url}/api/bins/{bin_id}/requests/next",
                params={"after": 0, "path": "/wanted", "timeout": 20},
                timeout=30,
            )
        )
        time.sleep(0.5)
        httpx.post(f"{capturing.url}/b/{bin_id}/other", content=b"no")
        sent = time.monotonic()
        wanted = httpx.post(f"{capturing.url}/b/{bin_id}/wanted", content=b"yes")
        answers.append(call.result(timeout=30))
    assert answers[0].status_code == 200
    assert answers[0].json()["id"] == int(wanted.headers["x-inspector-request-id"])
    assert time.monotonic() - sent < 5  # woken by the event, well before the 20 s timeout


def test_while_redis_is_down_clearing_and_deleting_answer_as_usual(start_server, own_redis) -> None:
    with scratch_database() as url:
        hub_url = f"redis://127.0.0.1:{own_redis.port}/0"  # type: ignore[attr-defined]
        server = start_server("--database-url", url, "--hub-url", hub_url)
        bin_id = new_bin(server.url)
        ids = [
            int(httpx.post(f"{server.url}/b/{bin_id}", content=b"x").headers["x-inspector-request-id"])
            for _ in range(3)
        ]
        own_redis.kill()
        own_redis.wait()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            # The change is stored; only the event that tells live views of it is lost.
            assert http.delete(f"/api/bins/{bin_id}/requests/{ids[0]}").status_code == 204
            assert http.patch(f"/api/bins/{bin_id}", json={"max_requests": 10}).status_code == 200
            assert http.delete(f"/api/bins/{bin_id}/requests").status_code == 204
            assert http.get(f"/api/bins/{bin_id}/requests").json()["items"] == []
