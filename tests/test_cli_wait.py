"""`inspector wait` as a script runs it: a real server, the command in a child process, its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from conftest import ServerProcess

ROOT = Path(__file__).resolve().parents[1]


def start_wait(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("INSPECTOR_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "inspector", "wait", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def run_wait(*args: str) -> subprocess.CompletedProcess[str]:
    process = start_wait(*args)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_wait_prints_a_capture_made_after_it_started(server: ServerProcess, bin_id: str) -> None:
    url = f"{server.url}/b/{bin_id}"
    earlier = httpx.post(f"{url}/hook", json={"type": "a"}).headers["x-inspector-request-id"]
    process = start_wait(url, "--timeout", "30", "--json", "type:a")
    sent = []
    for _ in range(100):  # until it answers: it takes a moment to start and note where the bin is
        sent.append(int(httpx.post(f"{url}/hook", json={"type": "a"}).headers["x-inspector-request-id"]))
        try:
            out, err = process.communicate(timeout=0.3)
            break
        except subprocess.TimeoutExpired:
            continue
    assert process.returncode == 0, err
    printed = json.loads(out)
    assert printed["id"] in sent and printed["id"] != int(earlier)
    assert json.loads(printed["body"]) == {"type": "a"}


def test_wait_with_after_and_filters_answers_at_once(server: ServerProcess, bin_id: str) -> None:
    url = f"{server.url}/b/{bin_id}"
    first = int(httpx.put(f"{url}/x", content=b"1").headers["x-inspector-request-id"])
    wanted = int(httpx.post(f"{url}/orders/9", content=b"2").headers["x-inspector-request-id"])
    began = time.monotonic()
    done = run_wait(
        f"{server.url}/bins/{bin_id}",
        "--after",
        "0",
        "--method",
        "POST",
        "--path",
        "/orders/*",
        "--min-size",
        "1",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == wanted != first
    assert time.monotonic() - began < 20


def test_wait_exits_1_on_timeout(server: ServerProcess, bin_id: str) -> None:
    done = run_wait(f"{server.url}/b/{bin_id}", "--timeout", "0.5")
    assert done.returncode == 1
    assert "no matching capture within 0.5 s" in done.stderr and done.stdout == ""


def test_wait_exits_2_when_it_cannot_wait(server: ServerProcess, bin_id: str, client: httpx.Client) -> None:
    assert run_wait(f"{server.url}/b/no-such-bin-zz", "--timeout", "1").returncode == 2
    bad = run_wait(f"{server.url}/b/{bin_id}", "--timeout", "1", "--header", ":x")
    assert bad.returncode == 2 and "header must be NAME:VALUE" in bad.stderr
    late = run_wait(f"{server.url}/b/{bin_id}", "--timeout", "1", "--since", "yesterday")
    assert late.returncode == 2 and "since must be an ISO 8601 time" in late.stderr
    assert run_wait("ftp://example.test/b/x").returncode == 2
    private = client.post("/api/bins", json={"private": True}).json()
    denied = run_wait(f"{server.url}/b/{private['id']}", "--timeout", "1")
    assert denied.returncode == 2 and "private" in denied.stderr
    allowed = run_wait(f"{server.url}/b/{private['id']}", "--timeout", "0.5", "--token", private["token"])
    assert allowed.returncode == 1  # it could wait: nothing came
