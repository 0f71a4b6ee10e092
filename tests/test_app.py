"""Choosing the engines: a server on PostgreSQL (--database-url), and two servers sharing it and Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from conftest import read_sse, require_service
from store.storetools import scratch_database


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


def test_a_server_on_postgresql_keeps_captures_across_restarts(start_server, database_url: str) -> None:
    server = start_server("--database-url", database_url)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/healthz").json()["store"] == "ok"
        bin_id = http.post("/api/bins").json()["id"]
        sent = http.post(f"/b/{bin_id}/hook?x=1", content=b'{"a": 1}', headers={"X-Dup": "1"})
        request_id = sent.headers["x-inspector-request-id"]
    assert "postgresql://" in server.log and "store ready" in server.log
    server.stop()
    again = start_server("--database-url", database_url)
    with httpx.Client(base_url=again.url, timeout=10) as http:
        stored = http.get(f"/api/bins/{bin_id}/requests/{request_id}").json()
        assert stored["body"] == '{"a": 1}'
        assert ["X-Dup", "1"] in stored["headers"]  # as sent


def test_two_servers_share_bins_captures_and_live_events(start_server, database_url: str, tmp_path) -> None:
    """Two processes on one PostgreSQL database and one Redis: a bin made on A takes captures on B,
    and a live stream on A sees them in order, each once."""
    require_service("Redis", 6379)
    shared = ("--database-url", database_url, "--hub-url", "redis://127.0.0.1:6379/0")
    a = start_server(*shared, db_path=tmp_path / "unused-a.db")
    b = start_server(*shared, db_path=tmp_path / "unused-b.db")
    with httpx.Client(base_url=a.url, timeout=10) as on_a, httpx.Client(base_url=b.url, timeout=10) as on_b:
        bin_id = on_a.post("/api/bins").json()["id"]
        with httpx.stream("GET", f"{a.url}/api/bins/{bin_id}/stream", timeout=15) as stream:
            assert stream.status_code == 200
            sent = [int(on_b.post(f"/b/{bin_id}/n/{n}").headers["x-inspector-request-id"]) for n in range(20)]
            seen: list[int] = []
            for event in read_sse(stream):
                if event.get("event") == "request":
                    seen.append(int(event["id"]))
                if len(seen) == len(sent):
                    break
        assert seen == sent
        assert len(on_a.get(f"/api/bins/{bin_id}/requests?limit=100").json()["items"]) == 20
        # A change made through B reaches A's cached bin (through Redis, well before its 10 s expiry).
        assert on_b.put(f"/api/bins/{bin_id}/response", json={"default": {"status": 202}}).status_code == 200
        deadline = time.monotonic() + 2
        while (status := on_a.post(f"/b/{bin_id}/after-change").status_code) != 202:
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
