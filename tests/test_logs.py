"""The server's logs as a log pipeline reads them: one JSON object per line, fields not sentences."""

from __future__ import annotations

import json
import threading
import time

import httpx


def lines(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def test_the_access_log_is_one_structured_line_per_request(start_server) -> None:
    server = start_server("--access-log", "--trusted-proxy", "127.0.0.1")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        made = http.post("/api/bins").json()
        bin_id = made["id"]
        for n in range(5):
            http.post(f"/b/{bin_id}/hook?n={n}&token=leaked-{n}", content=b"x")
        http.get("/api/bins/no-such-bin", headers={"X-Forwarded-For": "203.0.113.9"})
        http.request("PROPFIND", f"/b/{bin_id}/dav")
        with http.stream("GET", f"/api/bins/{bin_id}/stream?token={made['token']}") as stream:
            assert stream.status_code == 200
            # A stream is logged when it opens, not when it ends.
            deadline = time.monotonic() + 10
            while not any("/stream" in entry.get("path", "") for entry in lines(server.log)):
                assert time.monotonic() < deadline, "the open stream was not logged"
                time.sleep(0.05)
    server.stop()
    access = [entry for entry in lines(server.log) if entry["logger"] == "inspector.access"]
    mine = [entry for entry in access if entry["path"] != "/healthz"]  # the fixture's readiness polls
    assert [(e["method"], e["status"]) for e in mine] == [
        ("POST", 201),
        *[("POST", 200)] * 5,
        ("GET", 404),
        ("PROPFIND", 200),
        ("GET", 200),
    ]
    for entry in mine:
        assert entry["level"] == "info" and entry["http_version"] == "1.1"
        assert isinstance(entry["duration_ms"], float) and 0 <= entry["duration_ms"] < 10_000
        assert entry["peer"].startswith("127.0.0.1:")
        assert entry["event"] == f"{entry['method']} {entry['path']} {entry['status']}"
    assert mine[1]["path"] == f"/b/{bin_id}/hook?n=0&token=REDACTED"
    assert mine[6]["client"] == "203.0.113.9"  # through the trusted proxy
    assert mine[5]["client"] == "127.0.0.1"
    assert mine[8]["path"] == f"/api/bins/{bin_id}/stream?token=REDACTED"
    assert "leaked-" not in server.log and made["token"] not in server.log


def test_no_access_log_unless_asked(start_server) -> None:
    server = start_server()
    bin_id = httpx.post(f"{server.url}/api/bins").json()["id"]
    httpx.post(f"{server.url}/b/{bin_id}")
    server.stop()
    assert not [entry for entry in lines(server.log) if "access" in entry["logger"]]


def test_live_streams_open_at_shutdown_end_cleanly_and_log_no_error(start_server) -> None:
    server = start_server("--access-log")
    bin_id = httpx.post(f"{server.url}/api/bins").json()["id"]
    streams = {
        "api": (f"/api/bins/{bin_id}/stream", {}),
        "dashboard": (f"/bins/{bin_id}/events", {}),
        "smee": (f"/b/{bin_id}", {"accept": "text/event-stream"}),
    }
    ended: dict[str, str] = {}
    opened = threading.Barrier(len(streams) + 1, timeout=20)

    def follow(name: str, path: str, headers: dict[str, str]) -> None:
        try:
            with httpx.stream("GET", f"{server.url}{path}", headers=headers, timeout=30) as answer:
                opened.wait()
                for _ in answer.iter_bytes():
                    pass
            ended[name] = "clean end"
        except Exception as exc:
            ended[name] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=follow, args=(name, *spec)) for name, spec in streams.items()]
    for thread in threads:
        thread.start()
    opened.wait()
    assert httpx.post(f"{server.url}/b/{bin_id}/while-streaming").status_code == 200
    server.stop()
    for thread in threads:
        thread.join(30)
    # A clean end of the body (not a reset): clients reconnect with Last-Event-ID as after any end.
    assert ended == dict.fromkeys(streams, "clean end")
    entries = lines(server.log)
    assert [e for e in entries if e["level"] in ("error", "critical", "exception")] == []
    assert any(e["event"] == "stopped cleanly" for e in entries)
