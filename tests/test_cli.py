"""The command line as users meet it: help everywhere, zero-configuration start, variables, shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import ServerProcess, free_port


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_help_on_every_command() -> None:
    top = run("--help")
    assert top.returncode == 0 and "serve" in top.stdout
    serve = run("serve", "--help")
    assert serve.returncode == 0
    for flag, variable in [
        ("--host", "INSPECTOR_HOST"),
        ("--port", "INSPECTOR_PORT"),
        ("--db", "INSPECTOR_DB"),
        ("--public-url", "INSPECTOR_PUBLIC_URL"),
        ("--max-body-size", "INSPECTOR_MAX_BODY_SIZE"),
        ("--forward-budget", "INSPECTOR_FORWARD_BUDGET"),
        ("--allow-self-forward", "INSPECTOR_ALLOW_SELF_FORWARD"),
    ]:
        assert flag in serve.stdout and variable in serve.stdout


def test_bad_settings_are_usage_errors() -> None:
    result = run("serve", "--max-body-size", "huge")
    assert result.returncode == 2
    assert "not a size" in result.stderr
    result = run("serve", env={"INSPECTOR_TRUSTED_PROXIES": "10.0.0.0/8 garbage"})
    assert result.returncode == 2
    assert "not an IP address" in result.stderr


def test_serve_with_no_configuration(tmp_path: Path) -> None:
    """No flags at all: the database goes to the user's data folder, and start-up says where."""
    port = free_port()
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "INSPECTOR_PORT": str(port),
        "INSPECTOR_MAX_BODY_SIZE": "1KiB",
        "INSPECTOR_LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "inspector", "serve"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        bin_id = httpx.post(f"{url}/api/bins").json()["id"]
        assert httpx.post(f"{url}/b/{bin_id}", content=b"x" * 1024).status_code == 200
        assert (
            httpx.post(f"{url}/b/{bin_id}", content=b"x" * 1025).status_code == 413
        )  # from INSPECTOR_MAX_BODY_SIZE
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    expected = tmp_path / "data" / "webhook-inspector" / "inspector.db"
    assert expected.exists()
    start = json.loads(stderr.splitlines()[0])
    assert start["event"] == "starting Webhook Inspector"
    assert start["database"] == str(expected)
    assert "stopped cleanly" in stderr


def test_a_second_server_on_the_same_sqlite_file_refuses_to_start(start_server, tmp_path) -> None:
    first = start_server(db_path=tmp_path / "shared.db")
    second = ServerProcess(tmp_path / "shared.db")
    with pytest.raises(RuntimeError, match="server exited"):
        second.start(timeout=30)
    assert "one process per SQLite file" in second.log
    # The first goes on serving, its data intact.
    with httpx.Client(base_url=first.url) as http:
        bin_id = http.post("/api/bins").json()["id"]
        assert http.post(f"/b/{bin_id}").status_code == 200
