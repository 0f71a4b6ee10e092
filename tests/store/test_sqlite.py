"""What only the SQLite store has: a file, one process on it, its schema version, WAL and synchronous modes.

Everything the port promises is tested for both stores in test_contract.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from storetools import make_bin, make_request

from inspector.store import SchemaTooNew, StoreLocked
from inspector.store.sqlite import SQLiteStore

MIGRATIONS = Path(__file__).parents[2] / "inspector/store/migrations/sqlite"
LATEST = len(list(MIGRATIONS.glob("*.sql")))


@pytest.fixture
async def store(tmp_path: Path):
    store = SQLiteStore(tmp_path / "store.db")
    await store.open()
    await store.create_bin(make_bin())
    yield store
    await store.close()


async def test_schema_is_versioned_and_file_is_in_wal_mode(store: SQLiteStore) -> None:
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    await store.close()
    await store.open()  # migrating again is a no-op
    assert await store.get_bin("bin-one") is not None


async def test_an_older_file_is_migrated_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    first = (MIGRATIONS / "0001_initial.sql").read_text()
    with sqlite3.connect(path) as conn:
        conn.executescript(f"{first}\nPRAGMA user_version = 1;")
        conn.execute(
            "INSERT INTO bins VALUES ('kept', '2026-01-01T00:00:00+00:00', '2036-01-01T00:00:00+00:00')"
        )
    store = SQLiteStore(path)
    await store.open()
    try:
        assert (await store.get_bin("kept")) is not None
        assert await store.get_secrets("kept") == []  # the table version 2 added
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST


def test_unknown_synchronous_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteStore(tmp_path / "x.db", synchronous="sometimes")


async def test_a_second_process_cannot_open_the_same_file(tmp_path: Path) -> None:
    """Request ids and per-bin counts are kept by the file's one writer: a second one must not start."""
    first = SQLiteStore(tmp_path / "one.db")
    await first.open()
    try:
        second = SQLiteStore(tmp_path / "one.db")
        with pytest.raises(StoreLocked, match="one process per SQLite file"):
            await second.open()
    finally:
        await first.close()
    reopened = SQLiteStore(tmp_path / "one.db")  # the lock goes with the store that held it
    await reopened.open()
    await reopened.close()


async def test_a_file_from_a_newer_version_is_refused_untouched_and_unlocked(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    original = path.read_bytes()
    store = SQLiteStore(path)
    with pytest.raises(SchemaTooNew, match=f"version {LATEST + 1}, newer than the {LATEST}"):
        await store.open()
    assert path.read_bytes() == original
    # Refused, it holds nothing: a second attempt fails the same way, not with "locked".
    with pytest.raises(SchemaTooNew):
        await SQLiteStore(path).open()


async def test_the_single_writer_names_each_captures_previous_exactly(tmp_path: Path) -> None:
    """SQLite's one writer assigns every id, so it knows each bin's previous commit (Stored.previous)
    from a bin's second capture since opening: the live view's way to skip a store read."""
    store = SQLiteStore(tmp_path / "store.db")
    await store.open()
    try:
        for name in ("a", "b"):
            await store.create_bin(make_bin(name))
        first = await store.add_capture(make_request("a"))
        assert first.previous is None  # nothing of "a" written by this writer yet: only a read can tell
        other, second = await asyncio.gather(
            store.add_capture(make_request("b")), store.add_capture(make_request("a"))
        )
        assert second.previous == first.id  # "b"'s commit in between is another bin's
        # A capture cancelled while its commit was under way still committed: it is the next one's previous.
        cancelled = asyncio.ensure_future(store.add_capture(make_request("a")))
        await asyncio.sleep(0)
        cancelled.cancel()
        third = await store.add_capture(make_request("a"))
        committed = [r.id for r in await store.requests_after("a", after=second.id, limit=10)]
        assert len(committed) == 2 and committed[-1] == third.id
        assert third.previous == committed[0]
        assert (await store.add_capture(make_request("b"))).previous == other.id
    finally:
        await store.close()
    # Reopened, it has forgotten: another process may have written the file meanwhile.
    await store.open()
    try:
        assert (await store.add_capture(make_request("a"))).previous is None
    finally:
        await store.close()


async def test_a_full_bin_never_shows_more_than_its_limit(tmp_path: Path) -> None:
    # The oldest go in the transaction that brings the newest: a reader between two statements
    # would otherwise see the bin one batch over its limit.
    store = SQLiteStore(tmp_path / "full.db", max_requests=5)
    await store.open()
    try:
        await store.create_bin(make_bin())
        seen = {"looks": 0, "most": 0}
        stop = threading.Event()

        def watch() -> None:
            with sqlite3.connect(tmp_path / "full.db") as conn:
                while not stop.is_set():
                    (count,) = conn.execute(
                        "SELECT COUNT(*) FROM requests WHERE bin_id = 'bin-one'"
                    ).fetchone()
                    seen["looks"] += 1
                    seen["most"] = max(seen["most"], count)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            for _ in range(300):  # each its own group commit
                await store.add_request(make_request())
        finally:
            stop.set()
            watcher.join(10)
        assert seen["looks"] > 100 and seen["most"] == 5
    finally:
        await store.close()
