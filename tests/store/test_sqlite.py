"""The SQLite store against a real file: migrations, group commit, ids, paging, shutdown."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from inspector.models import Bin, CapturedRequest
from inspector.store import BinExists, BinNotFound, StoreClosed, StoreLocked
from inspector.store.sqlite import SQLiteStore

MIGRATIONS = Path(__file__).parents[2] / "inspector/store/migrations/sqlite"
LATEST = len(list(MIGRATIONS.glob("*.sql")))


def make_bin(bin_id: str = "bin-one") -> Bin:
    now = datetime.now(UTC)
    return Bin(id=bin_id, created_at=now, expires_at=now + timedelta(days=1))


def make_request(bin_id: str = "bin-one", body: bytes = b"{}", **changes: object) -> CapturedRequest:
    fields: dict = {
        "bin_id": bin_id,
        "method": "POST",
        "path": f"/b/{bin_id}/x%2Fy",
        "sub_path": "/x%2Fy",
        "query": "a=1&a=2",
        "headers": [("host", "h"), ("x-a", "1"), ("x-b", "é"), ("x-a", "2")],
        "body": body,
        "body_size": len(body),
        "body_sha256": "0" * 64,
        "client_ip": "127.0.0.1",
        "client_port": 5555,
        "host": "h",
        "scheme": "http",
        "http_version": "1.1",
        "received_at": datetime.now(UTC),
    }
    return CapturedRequest(**{**fields, **changes})


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


async def test_round_trip_keeps_every_field(store: SQLiteStore) -> None:
    original = make_request(body=b"\x00\xff binary \r\n")
    request_id = await store.add_request(original)
    loaded = await store.get_request("bin-one", request_id)
    assert loaded is not None
    assert loaded == CapturedRequest(
        **{**{f: getattr(original, f) for f in original.__struct_fields__}, "id": request_id}
    )


async def test_concurrent_adds_commit_together_with_increasing_ids(store: SQLiteStore) -> None:
    ids = await asyncio.gather(*(store.add_request(make_request(body=str(n).encode())) for n in range(300)))
    assert len(set(ids)) == 300
    assert ids == sorted(ids)  # queued order is commit order
    assert await store.count_requests("bin-one") == 300


async def test_a_vanished_bin_fails_only_its_own_requests(store: SQLiteStore) -> None:
    results = await asyncio.gather(
        store.add_request(make_request()),
        store.add_request(make_request(bin_id="ghost")),
        store.add_request(make_request()),
        return_exceptions=True,
    )
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], BinNotFound)
    assert await store.count_requests("bin-one") == 2


async def test_ids_are_never_reused_after_deletes_and_restart(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ids.db")
    await store.open()
    await store.create_bin(make_bin())
    newest = max([await store.add_request(make_request()) for _ in range(3)])
    assert await store.clear_requests("bin-one") == 3
    await store.close()
    await store.open()
    assert await store.add_request(make_request()) > newest
    await store.close()


async def test_keyset_pages(store: SQLiteStore) -> None:
    ids = [await store.add_request(make_request()) for _ in range(7)]
    first = await store.list_requests("bin-one", limit=3)
    second = await store.list_requests("bin-one", limit=3, before=first[-1].id)
    third = await store.list_requests("bin-one", limit=3, before=second[-1].id)
    assert [r.id for r in first + second + third] == sorted(ids, reverse=True)
    assert first[0].content_type is None and first[0].body_size == 2


async def test_bins(store: SQLiteStore) -> None:
    with pytest.raises(BinExists):
        await store.create_bin(make_bin())
    await store.add_request(make_request())
    assert await store.delete_bin("bin-one") is True
    assert await store.get_bin("bin-one") is None
    assert await store.count_requests("bin-one") == 0  # requests go with their bin
    assert await store.delete_bin("bin-one") is False
    with pytest.raises(BinNotFound):
        await store.add_request(make_request())


async def test_close_commits_what_is_queued_then_refuses(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "close.db")
    await store.open()
    await store.create_bin(make_bin())
    pending = [asyncio.create_task(store.add_request(make_request())) for _ in range(50)]
    await asyncio.sleep(0)  # let them queue
    await store.close()
    assert all(isinstance(task.result(), int) for task in pending)
    with pytest.raises(StoreClosed):
        await store.add_request(make_request())
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 50


def test_unknown_synchronous_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteStore(tmp_path / "x.db", synchronous="sometimes")


async def test_forward_jobs_start_after_the_newest_capture_and_survive_reopening(tmp_path: Path) -> None:
    from inspector.models import Attempt

    path = tmp_path / "forward.db"
    store = SQLiteStore(path)
    await store.open()
    await store.create_bin(make_bin())
    old = await store.add_request(make_request())
    await store.set_forward_targets("bin-one", ["http://a.test/hook", "http://b.test/hook"])
    assert (await store.get_bin("bin-one")).forward_targets == ["http://a.test/hook", "http://b.test/hook"]
    new = [await store.add_request(make_request()) for _ in range(2)]
    now = datetime.now(UTC)
    await store.close()

    await store.open()  # the queue is made from the store, so a restart in between loses nothing
    jobs = await store.enqueue_forwards(now=now, max_pending=100)
    assert sorted((j.request_id, j.target) for j in jobs) == sorted(
        (rid, t) for rid in new for t in ("http://a.test/hook", "http://b.test/hook")
    )
    assert old not in {j.request_id for j in jobs}
    assert await store.enqueue_forwards(now=now, max_pending=100) == []  # each capture queued once
    assert len({j.origin for j in jobs}) == 2  # one chain per capture, shared by its fan-out
    assert await store.next_forward_due() == now
    due = await store.claim_forward_jobs(now=now, lease_seconds=30, limit=10)
    assert len(due) == 4
    assert {j.claimed_until for j in due} == {now + timedelta(seconds=30)}
    assert await store.next_forward_due() == now + timedelta(seconds=30)  # due again if the claims run out

    first = due[0]
    later = now + timedelta(seconds=30)
    assert await store.update_forward_job(
        msgspec.structs.replace(first, attempts=1, next_attempt_at=later, last_status=503)
    )
    for job in due[1:]:
        assert await store.update_forward_job(job)  # saved unchanged: the claim ends
    assert len(await store.claim_forward_jobs(now=now, lease_seconds=30, limit=10)) == 3
    summary = await store.get_summary("bin-one", first.request_id)
    assert summary.forwarding.targets == 2
    assert summary.forwarding.pending == 2

    attempt_id = await store.add_attempt(
        Attempt(
            request_id=first.request_id,
            bin_id="bin-one",
            kind="forward",
            target=first.target,
            started_at=now,
            status=503,
            error=None,
            duration_ms=12.5,
            result=b'{"status": 503}',
        )
    )
    (stored,) = await store.list_attempts("bin-one", first.request_id)
    assert stored.id == attempt_id
    assert stored.result == b'{"status": 503}'
    await store.close()


async def test_a_full_forward_queue_fails_new_jobs_instead_of_growing(store: SQLiteStore) -> None:
    await store.set_forward_targets("bin-one", ["http://a.test/"])
    for _ in range(3):
        await store.add_request(make_request())
    jobs = await store.enqueue_forwards(now=datetime.now(UTC), max_pending=2)
    assert [j.state for j in jobs] == ["pending", "pending", "failed"]
    assert "already waiting" in jobs[2].last_error


async def forwarding_store(tmp_path: Path, captures: int, targets: int) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "claims.db")
    await store.open()
    await store.create_bin(make_bin())
    await store.set_forward_targets("bin-one", [f"http://t{n}.test/" for n in range(targets)])
    for _ in range(captures):
        await store.add_request(make_request())
    await store.enqueue_forwards(now=datetime.now(UTC), max_pending=10_000)
    return store


async def test_concurrent_claimers_never_get_the_same_job(tmp_path: Path) -> None:
    store = await forwarding_store(tmp_path, captures=60, targets=2)
    try:
        claimed: list[tuple[int, str]] = []
        now = datetime.now(UTC)
        for _ in range(100):  # bounded: 120 jobs, at least one claimed per round
            rounds = await asyncio.gather(
                *(store.claim_forward_jobs(now=now, lease_seconds=60, limit=7) for _ in range(3))
            )
            jobs = [job for batch in rounds for job in batch]
            if not jobs:
                break
            claimed += [(job.request_id, job.target) for job in jobs]
        assert len(claimed) == 120
        assert len(set(claimed)) == 120  # every job exactly once
    finally:
        await store.close()


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


async def test_an_expired_claim_is_claimed_again_and_the_late_holder_is_fenced(tmp_path: Path) -> None:
    store = await forwarding_store(tmp_path, captures=1, targets=1)
    try:
        start = datetime.now(UTC)
        (job,) = await store.claim_forward_jobs(now=start, lease_seconds=30, limit=10)
        assert (
            await store.claim_forward_jobs(now=start + timedelta(seconds=29), lease_seconds=30, limit=10)
            == []
        )
        assert await store.next_forward_due() == start + timedelta(seconds=30)

        # The holder crashed (or hangs): once its claim runs out the job is handed out again.
        (again,) = await store.claim_forward_jobs(
            now=start + timedelta(seconds=31), lease_seconds=30, limit=10
        )
        assert (again.request_id, again.target) == (job.request_id, job.target)
        # The first holder's late result is not saved over the new holder's claim.
        assert not await store.update_forward_job(msgspec.structs.replace(job, state="failed", attempts=1))
        assert await store.update_forward_job(msgspec.structs.replace(again, state="delivered", attempts=1))
        (saved,) = await store.forward_jobs("bin-one", job.request_id)
        assert (saved.state, saved.claimed_until) == ("delivered", None)
        assert await store.claim_forward_jobs(now=start + timedelta(days=1), lease_seconds=30, limit=10) == []
    finally:
        await store.close()


async def test_a_forward_budget_is_spent_exactly_once_per_unit(tmp_path: Path) -> None:
    first = await forwarding_store(tmp_path, captures=0, targets=1)
    try:
        now = datetime.now(UTC)
        taken = await asyncio.gather(
            *(first.take_forward_budget("chain-a", budget=20, now=now) for _ in range(50))
        )
        assert taken.count(True) == 20
        assert await first.take_forward_budget("chain-b", budget=20, now=now)  # chains are counted apart
        assert await first.forget_forward_origins(before=now) == 0
        assert await first.forget_forward_origins(before=now + timedelta(seconds=1)) == 2
        assert await first.take_forward_budget("chain-a", budget=20, now=now)
    finally:
        await first.close()
