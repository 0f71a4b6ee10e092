"""A pytest plugin (entry point pytest11): a fresh bin per test on a server started for the session.

    def test_checkout_sends_the_webhook(inspector_bin):
        my_app.configure(webhook_url=inspector_bin.url)
        my_app.checkout()
        hook = inspector_bin.wait_for(method="POST", json={"type": "invoice.paid"}, timeout=5)
        assert hook.header("stripe-signature")

The server is `inspector serve` on a free loopback port with a database in the session's temporary
folder, or the one at INSPECTOR_URL when that is set (a server started by CI, say).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from inspector.client import Bin, InspectorClient

START_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedServer:
    """`python -m inspector serve` on loopback, for one test session."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "inspector.log"
        command = [
            sys.executable,
            "-m",
            "inspector",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.command = [*command, "--db", str(folder / "inspector.db")]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import httpx  # imported here: sessions that never use a bin never pay for it

        with self.log_path.open("ab") as log:
            # The command is this interpreter and fixed arguments: nothing in it comes from outside.
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"inspector serve exited with {self.process.returncode}: see {self.log_path}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"inspector serve did not answer within {START_SECONDS} s: see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture(scope="session")
def inspector_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's base URL: INSPECTOR_URL, or a server started for this session."""
    given = os.environ.get("INSPECTOR_URL")
    if given:
        yield given.rstrip("/")
        return
    server = EmbeddedServer(tmp_path_factory.mktemp("inspector"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def inspector_client(inspector_url: str) -> Iterator[InspectorClient]:
    from inspector.client import InspectorClient

    with InspectorClient(inspector_url) as client:
        yield client


@pytest.fixture
def inspector_bin(inspector_client: InspectorClient) -> Iterator[Bin]:
    """A fresh bin for one test (deleted after it): send to `.url`, check with `.wait_for(...)`."""
    from inspector.client import InspectorError

    bin = inspector_client.create_bin()
    yield bin
    with contextlib.suppress(InspectorError):  # already gone (the test deleted it, or it expired)
        bin.delete()
