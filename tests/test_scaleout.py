"""Several server processes on one PostgreSQL database and one Redis: nothing lost, nothing done twice."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle

import httpx
import pytest
from conftest import RecordingTarget, require_service
from store.storetools import scratch_database


@pytest.fixture
def shared(tmp_path) -> Iterator[tuple[str, ...]]:
    """Flags for servers sharing one fresh database and one Redis."""
    require_service("Redis", 6379)
    with scratch_database() as url:
        yield ("--database-url", url, "--hub-url", "redis://127.0.0.1:6379/0")


def test_every_acknowledged_capture_across_two_processes_is_stored_once(
    start_server, shared, tmp_path
) -> None:
    servers = [start_server(*shared, db_path=tmp_path / f"unused-{n}.db") for n in range(2)]
    with httpx.Client(base_url=servers[0].url, timeout=10) as http:
        bin_id = http.post("/api/bins", json={"max_requests": 100_000}).json()["id"]
    urls = cycle(server.url for server in servers)
    targets = [f"{next(urls)}/b/{bin_id}/n/{n}" for n in range(10_000)]
    clients = [httpx.Client(timeout=30) for _ in range(50)]
    deadline = time.monotonic() + 240

    def send(index: int) -> int | None:
        if time.monotonic() > deadline:
            return None
        answer = clients[index % 50].post(targets[index], content=str(index).encode())
        assert answer.status_code == 200, answer.text
        return int(answer.headers["x-inspector-request-id"])

    try:
        with ThreadPoolExecutor(50) as pool:
            acknowledged = [rid for rid in pool.map(send, range(len(targets))) if rid is not None]
    finally:
        for client in clients:
            client.close()
    assert len(acknowledged) > 1000, "too few captures in the time allowed to say anything"
    assert len(set(acknowledged)) == len(acknowledged)  # no id given twice

    stored: list[int] = []
    with httpx.Client(base_url=servers[1].url, timeout=30) as http:
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
    assert sorted(stored) == sorted(acknowledged)


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
