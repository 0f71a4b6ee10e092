"""The pytest plugin as a user's project meets it: a small test project run by pytest in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ServerProcess

ROOT = Path(__file__).resolve().parents[1]

PROJECT_TEST = """
import os

import httpx


def test_a_webhook_arrives(inspector_bin):
    with open(os.environ["BIN_URLS"], "a") as out:
        out.write(inspector_bin.url + "\\n")
    httpx.post(inspector_bin.url + "/hook", json={"type": "invoice.paid", "data": {"id": "in_1"}})
    hook = inspector_bin.wait_for(method="POST", json={"type": "invoice.paid"}, timeout=5)
    assert hook.sub_path == "/hook"
    assert hook.json()["data"] == {"id": "in_1"}


def test_each_test_gets_a_fresh_bin(inspector_bin):
    with open(os.environ["BIN_URLS"], "a") as out:
        out.write(inspector_bin.url + "\\n")
    assert inspector_bin.requests() == []


def test_a_missing_webhook_fails_with_what_came(inspector_bin):
    httpx.put(inspector_bin.url + "/elsewhere", content=b"x")
    inspector_bin.wait_for(json={"type": "never.sent"}, timeout=0.5)
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A test project, and an environment whose Python finds this package's pytest11 entry point."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "test_hooks.py").write_text(PROJECT_TEST)
    # The entry point exactly as pyproject.toml declares it, in metadata Python's importlib finds:
    # what installing the package writes.
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]
    site = tmp_path / "site"
    info = site / "webhook_inspector_plugin_check-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: webhook-inspector-plugin-check\nVersion: 0.1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[pytest11]\n" + "".join(f"{name} = {target}\n" for name, target in declared.items())
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSPECTOR_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(site)])
    env["BIN_URLS"] = str(tmp_path / "bin-urls.txt")
    return folder, env


def run_project(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(folder),
            str(folder),
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _urls(env: dict[str, str]) -> list[str]:
    return Path(env["BIN_URLS"]).read_text().split()


def test_the_plugin_starts_an_embedded_server(
    project: tuple[Path, dict[str, str]], server: ServerProcess
) -> None:
    folder, env = project
    done = run_project(folder, env)
    assert done.returncode == 1, done.stdout + done.stderr  # the one test meant to fail did
    assert "1 failed, 2 passed" in done.stdout
    assert "no capture matching json=type:never.sent within 0.5 s; the bin received: #" in done.stdout
    assert "PUT /elsewhere" in done.stdout
    urls = _urls(env)
    assert len(set(urls)) == 2 and all(url.startswith("http://127.0.0.1:") for url in urls)
    assert not any(url.startswith(server.url) for url in urls)  # its own server, not ours


def test_the_plugin_uses_inspector_url(project: tuple[Path, dict[str, str]], server: ServerProcess) -> None:
    folder, env = project
    done = run_project(folder, {**env, "INSPECTOR_URL": server.url})
    assert "1 failed, 2 passed" in done.stdout, done.stdout + done.stderr
    urls = _urls(env)
    assert len(urls) == 2 and all(url.startswith(f"{server.url}/b/") for url in urls)
