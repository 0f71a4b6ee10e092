"""`inspector backup` under load and restored as docs/operations.md says; newer schemas refused."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import ServerProcess

from inspector.store.sqlite import known_schema_version


def inspector(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "INSPECTOR_DATABASE_URL": ""},
        timeout=timeout,
    )


class Load:
    """Threads capturing into one bin as fast as they can; every acknowledged capture is recorded."""

    def __init__(self, url: str, bin_id: str, threads: int = 3) -> None:
        self.url, self.bin_id = url, bin_id
        self.acknowledged: dict[int, str] = {}  # request id -> the sub-path it was sent to
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, worker: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            for n in range(100_000):  # bounded, though stop() ends it far sooner
                if self._stop.is_set():
                    return
                path = f"/w{worker}-{n}"
                answer = http.post(f"/b/{self.bin_id}{path}", content=path.encode() * 50)
                assert answer.status_code == 200, answer.text
                with self._lock:
                    self.acknowledged[int(answer.headers["x-inspector-request-id"])] = path

    def snapshot(self) -> dict[int, str]:
        with self._lock:
            return dict(self.acknowledged)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def stored(url: str, bin_id: str) -> dict[int, str]:
    """Every request of a bin, id -> sub-path, read page by page through the API."""
    found: dict[int, str] = {}
    before: int | None = None
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(1000):
            params = {"limit": 500, **({"before": before} if before else {})}
            page = http.get(f"/api/bins/{bin_id}/requests", params=params).json()
            found.update({item["id"]: item["sub_path"] for item in page["items"]})
            if (before := page["next"]) is None:
                return found
    raise AssertionError("more pages than expected")


def test_a_backup_taken_under_load_holds_every_capture_acknowledged_before_it(start_server, tmp_path):
    server = start_server("--max-requests", "1000000", db_path=tmp_path / "live.db")
    bin_id = httpx.post(f"{server.url}/api/bins").json()["id"]
    backup_path = tmp_path / "backups" / "copy.db"
    backup_path.parent.mkdir()
    with Load(server.url, bin_id) as load:
        while len(load.snapshot()) < 1500:  # enough that many commits sit in the WAL, not the main file
            time.sleep(0.05)
        before = load.snapshot()
        result = inspector("backup", str(backup_path), "--db", str(server.db_path))
        during = len(load.snapshot()) - len(before)
    assert result.returncode == 0, result.stderr
    assert during > 0, "the server must have gone on capturing while the backup ran"
    assert f"to {backup_path}" in result.stdout and "schema version" in result.stdout
    assert not list(backup_path.parent.glob(".*partial*")), "no partial file is left behind"

    # Restore as docs/operations.md says: the backup file becomes a server's database.
    restored_db = tmp_path / "restored" / "inspector.db"
    restored_db.parent.mkdir()
    shutil.copyfile(backup_path, restored_db)
    restored = start_server(db_path=restored_db)
    found = stored(restored.url, bin_id)
    missing = {id: path for id, path in before.items() if found.get(id) != path}
    assert not missing, f"{len(missing)} of {len(before)} acknowledged captures are not in the backup"
    # And nothing that was never acknowledged: everything in the backup was acknowledged at some point.
    assert set(found) <= set(load.snapshot())
    # The live server is untouched and still takes captures.
    assert httpx.post(f"{server.url}/b/{bin_id}/after").status_code == 200


def test_a_backup_never_overwrites_and_never_creates_a_database(tmp_path):
    missing = inspector("backup", str(tmp_path / "copy.db"), "--db", str(tmp_path / "nothing.db"))
    assert missing.returncode != 0
    assert "there is no database at" in missing.stderr
    assert not (tmp_path / "nothing.db").exists() and not (tmp_path / "copy.db").exists()

    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.executescript("CREATE TABLE bins (id); CREATE TABLE requests (id); PRAGMA user_version = 3;")
    conn.close()
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"precious")
    refused = inspector("backup", str(existing), "--db", str(source))
    assert refused.returncode != 0 and "already exists" in refused.stderr
    assert existing.read_bytes() == b"precious"


def test_backup_of_a_postgresql_server_points_to_pg_dump(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "backup", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        env={**os.environ, "INSPECTOR_DATABASE_URL": "postgresql://u@127.0.0.1/db"},
        timeout=60,
    )
    assert result.returncode != 0 and "pg_dump" in result.stderr
    assert not (tmp_path / "x.db").exists()


def _newer_database(path: Path) -> bytes:
    """A database whose schema a newer version wrote; returns its bytes, to show it stays untouched."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE future_things (id INTEGER PRIMARY KEY)")
        conn.execute(f"PRAGMA user_version = {known_schema_version() + 1}")
    conn.close()
    return path.read_bytes()


def test_a_server_refuses_a_database_written_by_a_newer_version(tmp_path):
    db = tmp_path / "newer.db"
    original = _newer_database(db)
    server = ServerProcess(db)
    with pytest.raises(RuntimeError, match="server exited"):
        server.start(timeout=30)
    newer, known = known_schema_version() + 1, known_schema_version()
    assert f"the database schema is at version {newer}, newer than the {known}" in server.log
    assert "cannot start: " in server.log and "Upgrade Webhook Inspector" in server.log
    assert "stopped cleanly" not in server.log  # it never started: nothing was stopped
    assert hashlib.sha256(db.read_bytes()).digest() == hashlib.sha256(original).digest()
