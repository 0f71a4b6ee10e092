"""The API against its own OpenAPI schema: schemathesis generates requests, and none gets a server error."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ServerProcess

SEED = "20261130"


def test_no_generated_request_gets_a_server_error(server: ServerProcess, tmp_path: Path) -> None:
    """A bounded, seeded run: 200 examples per operation (coverage, fuzzing and stateful phases).

    The live stream is left out: it never ends, so every call to it would time out; so is the long
    poll for the next capture, which waits its `timeout` on every call (its bad input is tested in
    tests/web/test_live.py).
    """
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    if st is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    run = subprocess.run(
        [
            st,
            "run",
            f"{server.url}/api/schema/openapi.json",
            "--checks",
            "not_a_server_error",
            "--exclude-path-regex",
            "/stream$|/requests/next$",
            "--max-examples",
            "200",
            "--seed",
            SEED,
            "--request-timeout",
            "10",
            "--generation-database",
            ":memory:",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    report = run.stdout[-4000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "passed" in run.stdout, report
