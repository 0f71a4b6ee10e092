"""Bin settings over real HTTP: custom answers, CORS, retention, private bins, abuse limits, fixed bins."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import ServerProcess, send_raw

from inspector.responses import MAX_PATH_PATTERN, MAX_PATH_WILDCARDS, MAX_RULES


def capture_id(response: httpx.Response) -> int:
    return int(response.headers["x-inspector-request-id"])


def test_custom_answer_and_rules(client: httpx.Client, bin_id: str) -> None:
    settings = {
        "default": {
            "status": 202,
            "headers": [["X-Reply", "yes"], ["X-Reply", "twice"]],
            "body": '{"got": "{{json.order.id}}", "method": "{{method}}",'
            ' "q": "{{query.q}}", "h": "{{header.x-evil}}"}',
            "content_type": "application/json",
        },
        "rules": [
            {"method": "DELETE", "path": "/orders/*", "response": {"status": 204}},
            {"path": "/fail/**", "response": {"status": 500, "body": "boom", "content_type": "text/plain"}},
        ],
    }
    assert client.put(f"/api/bins/{bin_id}/response", json=settings).status_code == 200
    assert client.get(f"/api/bins/{bin_id}/response").json()["rules"][0]["response"]["status"] == 204

    answer = client.post(
        f"/b/{bin_id}/orders?q=7",
        json={"order": {"id": "A-1"}},
        headers={"X-Evil": 'quote" and \\ backslash'},
    )
    assert answer.status_code == 202
    assert answer.headers.get_list("x-reply") == ["yes", "twice"]
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()  # still valid JSON with a hostile header inside
    assert body == {"got": "A-1", "method": "POST", "q": "7", "h": 'quote" and \\ backslash'}

    deleted = client.delete(f"/b/{bin_id}/orders/9")
    assert deleted.status_code == 204
    assert deleted.content == b""
    failing = client.get(f"/b/{bin_id}/fail/deep/path")
    assert (failing.status_code, failing.text) == (500, "boom")
    for response in (answer, deleted, failing):  # every one of them stored all the same
        assert client.get(f"/api/bins/{bin_id}/requests/{capture_id(response)}").status_code == 200

    bad = client.put(f"/api/bins/{bin_id}/response", json={"default": {"status": 99}})
    assert bad.status_code == 400
    assert "status" in bad.json()["detail"]
    assert (
        client.put(
            f"/api/bins/{bin_id}/response", content=b"null", headers={"content-type": "application/json"}
        ).status_code
        == 200
    )
    assert client.post(f"/b/{bin_id}").json()["ok"] is True  # back to the built-in answer


@pytest.mark.parametrize(
    "content_type", ["text/javascript", "application/ecmascript; charset=utf-8", " TEXT/CSS "]
)
def test_script_and_style_answers_are_refused(client: httpx.Client, bin_id: str, content_type: str) -> None:
    rules = [{"path": "/ok", "response": {}}, {"path": "/x", "response": {"content_type": content_type}}]
    refused = client.put(f"/api/bins/{bin_id}/response", json={"rules": rules})
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert f"rules[1].response.content_type: {content_type!r} is a script or stylesheet type" in detail
    assert client.get(f"/api/bins/{bin_id}/response").json() is None  # nothing was saved

    # The dashboard's form goes through the same check.
    form = {"custom": "on", "status": "200", "content_type": content_type, "body": "alert(1)"}
    page = client.post(f"/bins/{bin_id}/response", data=form)
    assert "is a script or stylesheet type" in page.text
    assert client.get(f"/api/bins/{bin_id}/response").json() is None


# Rules at the validation limits that a backtracking matcher needs years for on 10 KB paths, and
# that keep a linear matcher busy to the end: the paths below pass every quick check.
WORST_PATTERNS = [
    "/" + ("*" + "a" * 15) * 15 + "*/x",
    "/" + ("**" + "a" * 14) * 15 + "*/x",
    "/" + "**/" * 14 + "a?/x",
    "/" + "*?" * 8 + "/x",
]
LONG_PATHS = ["/" + "a" * 10_000 + "/b/x", "/a" * 5000 + "/b/x"]


def test_worst_rule_patterns_do_not_stall_the_server(start_server) -> None:
    assert all(len(p) <= MAX_PATH_PATTERN for p in WORST_PATTERNS)
    server = start_server()
    rules = [
        {"path": WORST_PATTERNS[i % len(WORST_PATTERNS)], "response": {"status": 201}}
        for i in range(MAX_RULES)
    ]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        bin_id = http.post("/api/bins").json()["id"]
        saved = http.put(f"/api/bins/{bin_id}/response", json={"rules": rules})
        assert saved.status_code == 200, saved.text

    answers: list[int] = []

    def send_captures() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as sender:
            for i in range(20):
                answers.append(sender.post(f"/b/{bin_id}{LONG_PATHS[i % 2]}").status_code)

    sender = threading.Thread(target=send_captures, daemon=True)
    sender.start()
    waits: list[float] = []
    try:
        with httpx.Client(base_url=server.url, timeout=5) as probe:
            deadline = time.monotonic() + 60
            while sender.is_alive() and time.monotonic() < deadline:
                started = time.monotonic()
                assert probe.get("/healthz").status_code == 200
                waits.append(time.monotonic() - started)
                time.sleep(0.02)
        sender.join(30)
    finally:
        if sender.is_alive():  # a stalled server would never let it end: stop it for good
            server.kill()
    assert answers == [200] * 20  # no rule matched: the built-in answer, every time
    assert len(waits) >= 3
    assert max(waits) < 0.5, f"/healthz waited {max(waits):.2f} s"

    with httpx.Client(base_url=server.url, timeout=30) as http:
        many = http.put(
            f"/api/bins/{bin_id}/response",
            json={"rules": [{"path": "/" + "*/" * (MAX_PATH_WILDCARDS + 1), "response": {}}]},
        )
        assert many.status_code == 400
        assert "wildcards" in many.json()["detail"]


def test_delay_holds_the_answer(client: httpx.Client, bin_id: str) -> None:
    client.put(f"/api/bins/{bin_id}/response", json={"default": {"status": 200, "delay_ms": 400}})
    started = time.monotonic()
    assert client.post(f"/b/{bin_id}").status_code == 200
    assert time.monotonic() - started >= 0.4
    too_long = client.put(f"/api/bins/{bin_id}/response", json={"default": {"delay_ms": 31_000}})
    assert too_long.status_code == 400


def test_cors_preflight_off_and_on(client: httpx.Client, bin_id: str) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "PUT"}
    off = client.options(f"/b/{bin_id}/x", headers=preflight)
    assert off.status_code == 200
    assert "access-control-allow-origin" not in off.headers

    client.put(f"/api/bins/{bin_id}/response", json={"cors": True})
    on = client.options(f"/b/{bin_id}/x", headers=preflight)
    assert on.status_code == 204
    assert on.headers["access-control-allow-origin"] == "https://app.example"
    assert "PUT" in on.headers["access-control-allow-methods"]
    simple = client.post(f"/b/{bin_id}/x", headers={"Origin": "https://app.example"})
    assert simple.headers["access-control-allow-origin"] == "https://app.example"


def test_eviction_keeps_exactly_the_newest(client: httpx.Client) -> None:
    bin_id = client.post("/api/bins", json={"max_requests": 5}).json()["id"]
    ids = [capture_id(client.post(f"/b/{bin_id}", content=str(n).encode())) for n in range(12)]
    kept = [item["id"] for item in client.get(f"/api/bins/{bin_id}/requests").json()["items"]]
    assert kept == sorted(ids[-5:], reverse=True)
    assert client.patch(f"/api/bins/{bin_id}", json={"max_requests": 2}).json()["max_requests"] == 2
    client.post(f"/b/{bin_id}", content=b"last")
    assert len(client.get(f"/api/bins/{bin_id}/requests").json()["items"]) == 2


def test_expired_bins_are_swept(start_server) -> None:
    server = start_server("--sweep-interval", "0.2")
    with httpx.Client(base_url=server.url) as http:
        bin_id = http.post("/api/bins", json={"ttl_seconds": 1}).json()["id"]
        assert http.post(f"/b/{bin_id}").status_code == 200
        time.sleep(1.6)
        assert http.get(f"/api/bins/{bin_id}").status_code == 404
        assert http.post(f"/b/{bin_id}").status_code == 404
    assert "expired bins deleted" in server.log


def test_stored_bytes_cap(start_server) -> None:
    server = start_server("--sweep-interval", "0.2", "--max-stored", "2KiB")
    with httpx.Client(base_url=server.url) as http:
        bin_id = http.post("/api/bins").json()["id"]
        ids = [capture_id(http.post(f"/b/{bin_id}", content=b"x" * 600)) for _ in range(6)]
        time.sleep(0.8)
        kept = [item["id"] for item in http.get(f"/api/bins/{bin_id}/requests").json()["items"]]
    assert kept == sorted(ids[-3:], reverse=True)  # 3 x 600 B fit in 2 KiB; the oldest went


READ_PATHS = [
    "/api/bins/{b}",
    "/api/bins/{b}/requests",
    "/api/bins/{b}/requests/{r}",
    "/api/bins/{b}/requests/{r}/body",
    "/api/bins/{b}/requests/{r}/attempts",
    "/api/bins/{b}/requests/{r}/forwards",
    "/api/bins/{b}/response",
    "/api/bins/{b}/forward",
    "/api/bins/{b}/stream",
    "/bins/{b}",
    "/bins/{b}/requests/{r}",
    "/bins/{b}/rows?before=999999",
    "/bins/{b}/events",
]


def test_private_bins_need_their_token(client: httpx.Client, server: ServerProcess) -> None:
    created = client.post("/api/bins", json={"private": True}).json()
    bin_id, token = created["id"], created["token"]
    assert created["private"] is True
    request_id = capture_id(client.post(f"/b/{bin_id}/open-to-senders", content=b"{}"))  # capture needs none

    owner = {"Authorization": f"Bearer {token}"}
    share = client.post(f"/api/bins/{bin_id}/share", headers=owner).json()
    reader = {"Authorization": f"Bearer {share['share_token']}"}
    wrong = {"Authorization": "Bearer not-the-token"}
    for template in READ_PATHS:
        path = template.format(b=bin_id, r=request_id)
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=wrong).status_code == 403, path
        if path.endswith(("/stream", "/events")):
            for headers in (owner, reader):
                with httpx.stream("GET", f"{server.url}{path}", headers=headers, timeout=5) as stream:
                    assert stream.status_code == 200, path
        else:
            assert client.get(path, headers=owner).status_code == 200, path
            assert client.get(path, headers=reader).status_code == 200, path

    # Reading is all a share token does.
    assert client.delete(f"/api/bins/{bin_id}/requests/{request_id}", headers=reader).status_code == 403
    assert (
        client.post(
            f"/api/bins/{bin_id}/requests/{request_id}/verify",
            json={"provider": "github", "secret": "s"},
            headers=reader,
        ).status_code
        == 403
    )
    assert client.put(f"/api/bins/{bin_id}/response", json={"cors": True}, headers=reader).status_code == 403
    assert client.delete(f"/api/bins/{bin_id}", headers=wrong).status_code == 403
    assert client.delete(f"/api/bins/{bin_id}").status_code == 401
    # The dashboard explains, and a share link opens it in a browser.
    page = client.get(f"/bins/{bin_id}")
    assert "This bin is private" in page.text
    with httpx.Client(base_url=server.url, follow_redirects=True) as browser_like:
        opened = browser_like.get(share["share_url"].replace(server.url, ""))
        assert opened.status_code == 200
        assert "This bin is private" not in opened.text
    assert client.delete(f"/api/bins/{bin_id}", headers=owner).status_code == 204


def test_rate_limit_answers_429_and_recovers(start_server) -> None:
    server = start_server("--bin-rate-limit", "5")
    with httpx.Client(base_url=server.url) as http:
        bin_id = http.post("/api/bins").json()["id"]
        statuses = [http.post(f"/b/{bin_id}").status_code for _ in range(30)]
        assert statuses[:10] == [200] * 10  # a burst of twice the rate
        assert 429 in statuses
        refused = http.post(f"/b/{bin_id}")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert http.get(f"/api/bins/{bin_id}").json()["rate_limited"] >= statuses.count(429)
        time.sleep(0.5)
        assert http.post(f"/b/{bin_id}").status_code == 200
        assert "refused by the rate limit" in http.get(f"/bins/{bin_id}").text


def test_caps_on_bins_per_client_and_headers(start_server) -> None:
    server = start_server("--max-bins-per-client", "2", "--max-headers", "8")
    with httpx.Client(base_url=server.url) as http:
        bin_id = http.post("/api/bins").json()["id"]
        assert http.post("/api/bins").status_code == 201
        third = http.post("/api/bins")
        assert third.status_code == 429
        assert "2 live bins" in third.json()["detail"]
        many = "".join(f"X-H{n}: v\r\n" for n in range(10))
        answer = send_raw(
            server.url,
            f"POST /b/{bin_id} HTTP/1.1\r\nHost: h\r\n{many}Content-Length: 0\r\n"
            "Connection: close\r\n\r\n".encode(),
        )
        assert answer.startswith(b"HTTP/1.1 431")
        attempt = http.get(f"/api/bins/{bin_id}/requests").json()["items"][0]
        assert "headers" in attempt["rejected"]


def test_fixed_bins_from_the_bins_file(start_server, tmp_path: Path) -> None:
    bins_file = tmp_path / "bins.toml"
    bins_file.write_text(
        """
[[bins]]
name = "ci-hooks"
max_requests = 50
[bins.response.default]
status = 201
body = "created"

[[bins]]
name = "private-demo"
private = true
token = "a-long-operator-chosen-token-0123456789"
"""
    )
    server = start_server("--bins-file", str(bins_file))
    with httpx.Client(base_url=server.url) as http:
        fixed = http.get("/api/bins/ci-hooks").json()
        assert fixed["max_requests"] == 50
        assert fixed["expires_at"].startswith("9999")
        answer = http.post("/b/ci-hooks/run/1")
        assert (answer.status_code, answer.text) == (201, "created")
        assert http.get("/api/bins/private-demo").status_code == 401
        headers = {"Authorization": "Bearer a-long-operator-chosen-token-0123456789"}
        assert http.get("/api/bins/private-demo", headers=headers).status_code == 200
    server.stop()
    restarted = start_server(
        "--bins-file", str(bins_file), db_path=server.db_path
    )  # declared again: no error
    assert httpx.get(f"{restarted.url}/api/bins/ci-hooks").status_code == 200


def test_a_bad_bins_file_stops_start_up_with_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    bins_file = tmp_path / "bins.toml"
    bins_file.write_text('[[bins]]\nname = "x"\n')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspector",
            "serve",
            "--db",
            str(tmp_path / "x.db"),
            "--bins-file",
            str(bins_file),
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "3 to 64 characters" in result.stderr


def test_the_smee_channel_of_a_private_bin_needs_its_token(
    client: httpx.Client, server: ServerProcess
) -> None:
    created = client.post("/api/bins", json={"private": True}).json()
    listen = {"Accept": "text/event-stream"}
    assert client.get(f"/b/{created['id']}", headers=listen).status_code == 401
    url = f"{server.url}/b/{created['id']}?token={created['token']}"
    with httpx.stream("GET", url, headers=listen, timeout=5) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")


def test_bins_per_client_counts_each_client_behind_a_trusted_proxy(start_server) -> None:
    server = start_server("--max-bins-per-client", "2", "--trusted-proxy", "127.0.0.1")
    with httpx.Client(base_url=server.url) as http:
        for client in ("198.51.100.7", "203.0.113.9"):
            forwarded = {"X-Forwarded-For": client}
            statuses = [http.post("/api/bins", headers=forwarded).status_code for _ in range(3)]
            assert statuses == [201, 201, 429]
        # The proxy itself is not a client: others behind it still get their bins.
        assert http.post("/api/bins", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 201


def test_bins_per_client_cap_holds_under_concurrent_creation(start_server) -> None:
    server = start_server("--max-bins-per-client", "50")
    limits = httpx.Limits(max_connections=50)
    with httpx.Client(base_url=server.url, limits=limits) as http, ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda _: http.post("/api/bins").status_code, range(200)))
    assert statuses.count(201) == 50
    assert statuses.count(429) == 150
