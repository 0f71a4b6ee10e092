"""Moving a SQLite database into PostgreSQL: everything the port can read comes back the same, ids kept."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from storetools import fresh_schema, make_bin, make_request, scratch_database

from inspector.models import Attempt, BinChanges, BinSecret, SignatureCheck
from inspector.responses import ResponseSettings, ResponseSpec
from inspector.store import StoreLocked
from inspector.store.postgres import PostgresStore
from inspector.store.sqlite import SQLiteStore
from inspector.store.transfer import TransferRefused, sqlite_to_postgres


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    with scratch_database() as url:
        yield url


async def filled(path: Path) -> tuple[dict[str, list[int]], int]:
    """A SQLite database with a bit of everything; the request ids of each bin, and the highest id given."""
    store = SQLiteStore(path)
    await store.open()
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        await store.create_bin(make_bin("open"))
        await store.create_bin(
            make_bin(
                "private", private=True, owner_token_hash="o" * 64, creator_ip="203.0.113.9", max_requests=50
            )
        )
        answer = ResponseSettings(default=ResponseSpec(status=202, body="ok"), cors=True)
        await store.update_bin("private", BinChanges(response=answer, share_token_hash="s" * 64))
        ids: dict[str, list[int]] = {"open": [], "private": []}
        for n in range(30):
            bin_id = ("open", "private")[n % 2]
            body = bytes(range(256)) + str(n).encode() if n % 3 == 0 else b'{"n": %d}' % n
            ids[bin_id].append(
                await store.add_request(make_request(bin_id, body, method=("POST", "PROPFIND")[n % 2]))
            )
        ids["open"].append(await store.add_request(make_request("open", b"", rejected="too large")))
        highest = ids["open"][-1]
        # Deleted requests: their ids must never be given again.
        for request_id in ids["open"][-3:]:
            assert await store.delete_request("open", request_id)
        del ids["open"][-3:]
        await store.set_secret(
            "private",
            BinSecret(provider="stripe", secret="whsec_abc", options={"tolerance": 300}, updated_at=now),
        )
        await store.record_check(
            ids["private"][0], SignatureCheck(provider="stripe", valid=False, reason="stale")
        )
        await store.set_forward_targets("open", ["http://127.0.0.1:9/hook"])
        await store.enqueue_forwards(now=now, max_pending=100)
        await store.add_attempt(
            Attempt(
                request_id=ids["open"][0],
                bin_id="open",
                kind="replay",
                target="http://127.0.0.1:9/",
                started_at=now,
                status=None,
                error="refused",
                duration_ms=1.5,
                result=b'{"x": 1}',
            )
        )
        return ids, highest
    finally:
        await store.close()


async def everything(store: SQLiteStore | PostgresStore, ids: dict[str, list[int]]) -> list[object]:
    """What the port reads back from a filled database, in one comparable list."""
    seen: list[object] = []
    for bin_id, request_ids in ids.items():
        seen.append(await store.get_bin(bin_id))
        seen.append(await store.list_requests(bin_id, limit=100))
        seen.append(await store.count_requests(bin_id))
        seen.append(await store.get_secrets(bin_id))
        for request_id in request_ids:
            seen.append(await store.get_request(bin_id, request_id))
            seen.append(await store.forward_jobs(bin_id, request_id))
            seen.append(await store.list_attempts(bin_id, request_id))
    seen.append(await store.stored_bytes())
    return seen


async def test_a_sqlite_database_moves_to_postgresql_whole(tmp_path: Path, pg_database: str) -> None:
    path = tmp_path / "old.db"
    ids, highest = await filled(path)
    sqlite = SQLiteStore(path)
    await sqlite.open()
    before = await everything(sqlite, ids)
    await sqlite.close()

    url = await fresh_schema(pg_database)
    copied = await sqlite_to_postgres(path, url)
    assert copied["bins"] == 2 and copied["requests"] == 28 and copied["attempts"] == 1

    pg = PostgresStore(url)
    await pg.open()
    try:
        assert await everything(pg, ids) == before
        # Ids go on past every id SQLite gave, deleted ones included; counters were rebuilt.
        new_id = await pg.add_request(make_request("open"))
        assert new_id > highest
        assert await pg.count_requests("open") == len(ids["open"]) + 1
    finally:
        await pg.close()


async def test_a_database_with_bins_is_not_written_to(tmp_path: Path, pg_database: str) -> None:
    path = tmp_path / "old.db"
    await filled(path)
    url = await fresh_schema(pg_database)
    await sqlite_to_postgres(path, url)
    with pytest.raises(TransferRefused, match="already holds bins"):
        await sqlite_to_postgres(path, url)


async def test_a_sqlite_file_in_use_is_not_moved(tmp_path: Path, pg_database: str) -> None:
    path = tmp_path / "old.db"
    await filled(path)
    serving = SQLiteStore(path)
    await serving.open()
    try:
        with pytest.raises(StoreLocked):
            await sqlite_to_postgres(path, await fresh_schema(pg_database))
    finally:
        await serving.close()


def test_the_command_says_what_it_moved(tmp_path: Path, pg_database: str) -> None:
    path = tmp_path / "old.db"
    asyncio.run(filled(path))
    url = asyncio.run(fresh_schema(pg_database))
    command = [sys.executable, "-m", "inspector", "migrate-db", "--db", str(path), "--database-url", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "28 requests" in done.stdout
    again = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert "already holds bins" in again.stderr


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "inspector", "migrate-db", "--db", str(tmp_path / "none.db")]
    done = subprocess.run(
        [*command, "--database-url", "postgresql://nobody@127.0.0.1:1/x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "none.db" in done.stderr and "Traceback" not in done.stderr
