"""What only the PostgreSQL store has: migrations shared by processes, several writers, lost connections."""

from __future__ import annotations

import asyncio
import os
import pwd
import random
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from conftest import free_port
from storetools import ADMIN_URL, fresh_schema, make_bin, make_request, scratch_database, with_schema

from inspector.store import BinNotFound, StoreUnavailable, TooManyBins
from inspector.store.migrations import scripts
from inspector.store.pgmigrate import SchemaTooNew
from inspector.store.postgres import PostgresStore

LATEST = scripts("postgres")[-1][0]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture
async def url(pg_database: str) -> str:
    """A fresh schema of the session's database: an empty database as far as a store can tell."""
    return await fresh_schema(pg_database)


@pytest.fixture
async def stores(url: str) -> AsyncIterator[list[PostgresStore]]:
    """Stores to open on the same database, standing for processes; all closed at the end."""
    made: list[PostgresStore] = []
    yield made
    for store in made:
        await store.close()


async def opened(stores: list[PostgresStore], url: str, **options: object) -> PostgresStore:
    store = PostgresStore(url, **options)
    stores.append(store)
    await store.open()
    return store


async def query(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def writer_waiting(blocker: asyncpg.Connection) -> int:
    """The backend of a store writer that waits for a bin's row lock (bounded: 10 s)."""
    for _ in range(200):
        # Activity statistics are a snapshot taken once per transaction, and the blocker polls from
        # inside one: drop the snapshot, or a first look taken too early is all it ever sees.
        await blocker.execute("SELECT pg_stat_clear_snapshot()")
        pid = await blocker.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE '%FOR NO KEY UPDATE%'"
        )
        if pid:
            return pid
        await asyncio.sleep(0.05)
    raise AssertionError("the writer never waited for the bin")


# -- migrations -------------------------------------------------------------------------------


async def test_processes_starting_together_migrate_once(stores: list[PostgresStore], url: str) -> None:
    await asyncio.gather(*(opened(stores, url) for _ in range(4)))
    versions = [row[0] for row in await query(url, "SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, LATEST + 1))
    await stores[0].close()
    await stores[0].open()  # migrating again is a no-op
    assert len(await query(url, "SELECT version FROM schema_version")) == LATEST


async def test_an_older_database_is_migrated_with_its_data(stores: list[PostgresStore], url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(scripts("postgres")[0][1])
        await conn.execute("CREATE TABLE schema_version (version integer NOT NULL, applied_at timestamptz)")
        await conn.execute("INSERT INTO schema_version VALUES (1, now())")
        await conn.execute("INSERT INTO bins (id, created_at, expires_at) VALUES ('kept', now(), 'infinity')")
        await conn.execute(
            "INSERT INTO requests (bin_id, method, path, sub_path, query, headers, host, scheme,"
            " http_version, received_at, body)"
            " VALUES ('kept', 'GET', '/b/kept', '', '', '[]', 'h', 'http', '1.1', now(), '')"
        )
        await conn.execute("INSERT INTO bin_secrets VALUES ('kept', 'stripe', 's', '{}', now())")
    finally:
        await conn.close()
    store = await opened(stores, url)
    assert (await store.get_bin("kept")).has_secrets
    # The old capture was there before check jobs existed: it is not checked now.
    assert await store.enqueue_checks() == 0
    await store.add_request(make_request("kept"))
    assert await store.enqueue_checks() == 1


async def test_a_database_from_a_newer_version_is_refused(stores: list[PostgresStore], url: str) -> None:
    await opened(stores, url)
    await query(url, "INSERT INTO schema_version (version) VALUES ($1)", LATEST + 1)
    late = PostgresStore(url)
    with pytest.raises(SchemaTooNew, match=f"version {LATEST + 1}, newer than the {LATEST}"):
        await late.open()
    await late.close()


async def test_an_unreachable_server_is_unavailable() -> None:
    store = PostgresStore(f"postgresql://postgres@127.0.0.1:{free_port()}/test", connect_timeout=2)
    with pytest.raises(StoreUnavailable):
        await store.open()


# -- several processes ------------------------------------------------------------------------


async def test_two_processes_writing_the_same_bins_never_hide_a_request_from_a_reader(
    stores: list[PostgresStore], url: str
) -> None:
    first = await opened(stores, url, max_requests=100_000)
    second = await opened(stores, url, max_requests=100_000)
    reader = await opened(stores, url)
    bins = [f"shared-{n}" for n in range(3)]
    for bin_id in bins:
        await first.create_bin(make_bin(bin_id))
    returned: list[tuple[str, int]] = []
    seen: dict[str, list[int]] = {bin_id: [] for bin_id in bins}
    writing = True

    async def sender(store: PostgresStore, seed: int) -> None:
        # Many senders per process keep both writers' batches small and overlapping.
        rng = random.Random(seed)
        for _ in range(50):
            bin_id = rng.choice(bins)
            returned.append((bin_id, await store.add_request(make_request(bin_id))))

    async def follow(bin_id: str) -> None:
        # A live view: "everything after the last id I saw", again and again.
        last = 0
        for _ in range(100_000):  # bounded; ends after one complete pass once writing stopped
            final = not writing
            page = await reader.requests_after(bin_id, after=last, limit=200)
            seen[bin_id] += [r.id for r in page]
            last = page[-1].id if page else last
            if final and not page:
                return
        raise AssertionError("the reader did not finish")

    readers = [asyncio.create_task(follow(bin_id)) for bin_id in bins]
    await asyncio.gather(*(sender(store, n) for n in range(20) for store in (first, second)))
    writing = False
    await asyncio.gather(*readers)

    assert len(returned) == 2000
    stored = await query(url, "SELECT bin_id, id FROM requests ORDER BY id")
    assert sorted(returned, key=lambda r: r[1]) == [(row[0], row[1]) for row in stored]  # each exactly once
    for bin_id in bins:
        mine = sorted(request_id for b, request_id in returned if b == bin_id)
        assert seen[bin_id] == mine  # never a request the reader went past


async def test_a_writer_draws_ids_only_once_it_holds_the_bin(stores: list[PostgresStore], url: str) -> None:
    store = await opened(stores, url)
    await store.create_bin(make_bin())
    other = await asyncpg.connect(url)  # another process's writer, in the middle of its batch
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute("SELECT 1 FROM bins WHERE id = 'bin-one' FOR NO KEY UPDATE")
        ours = asyncio.create_task(store.add_request(make_request()))
        await writer_waiting(other)
        theirs = await other.fetchval("SELECT nextval('requests_id_seq')")
        await transaction.commit()
        # They commit first, so our id must be larger: a reader that saw theirs will still see ours.
        assert await ours > theirs
    finally:
        await other.close()


async def test_counts_stay_exact_under_two_writers_and_deletes(stores: list[PostgresStore], url: str) -> None:
    first = await opened(stores, url, max_requests=30)
    second = await opened(stores, url, max_requests=30)
    for bin_id in ("a", "b"):
        await first.create_bin(make_bin(bin_id))

    async def churn(store: PostgresStore, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            bin_id = rng.choice("ab")
            request_id = await store.add_request(make_request(bin_id, body=b"x" * rng.randrange(100)))
            if rng.random() < 0.1:
                await store.delete_request(bin_id, request_id)
            if rng.random() < 0.05:
                await store.free_bytes(150, limit=10)
            if rng.random() < 0.02:
                await store.clear_requests(bin_id)

    await asyncio.gather(*(churn(store, n) for n in range(6) for store in (first, second)))
    counted = await query(url, "SELECT id, request_count, stored_bytes FROM bins ORDER BY id")
    actual = await query(
        url,
        "SELECT b.id, count(r.id), COALESCE(sum(r.body_size), 0) FROM bins AS b"
        " LEFT JOIN requests AS r ON r.bin_id = b.id GROUP BY b.id ORDER BY b.id",
    )
    assert [tuple(row) for row in counted] == [tuple(row) for row in actual]
    assert all(row[1] <= 30 for row in counted)
    assert await first.stored_bytes() == sum(row[2] for row in actual)


async def test_claims_budgets_and_the_creator_cap_hold_across_processes(
    stores: list[PostgresStore], url: str
) -> None:
    first = await opened(stores, url)
    second = await opened(stores, url)
    await first.create_bin(make_bin())
    await first.set_forward_targets("bin-one", ["http://a.test/", "http://b.test/"])
    for _ in range(30):
        await second.add_request(make_request())
    enqueued = await asyncio.gather(
        *(
            store.enqueue_forwards(now=datetime.now(UTC), max_pending=1000, limit=7)
            for store in (first, second)
        )
    )
    for _ in range(10):  # bounded: both processes enqueue until nothing is left
        more = await asyncio.gather(
            *(store.enqueue_forwards(now=datetime.now(UTC), max_pending=1000) for store in (first, second))
        )
        enqueued += more
        if not any(more):
            break
    made = [(j.request_id, j.target) for batch in enqueued for j in batch]
    assert len(made) == 60 and len(set(made)) == 60  # each capture queued once, by one of them

    now = datetime.now(UTC)
    claimed: list[tuple[int, str]] = []
    for _ in range(60):
        rounds = await asyncio.gather(
            *(
                s.claim_forward_jobs(now=now, lease_seconds=60, limit=5)
                for s in (first, second, first, second)
            )
        )
        jobs = [(job.request_id, job.target) for batch in rounds for job in batch]
        if not jobs:
            break
        claimed += jobs
    assert len(claimed) == 60 and len(set(claimed)) == 60

    taken = await asyncio.gather(
        *(s.take_forward_budget("chain", budget=20, now=now) for _ in range(25) for s in (first, second))
    )
    assert taken.count(True) == 20

    created = await asyncio.gather(
        *(
            store.create_bin(make_bin(f"cap-{n}-{i}", creator_ip="10.0.0.1"), creator_cap=5)
            for n in range(25)
            for i, store in enumerate((first, second))
        ),
        return_exceptions=True,
    )
    assert created.count(None) == 5
    assert all(isinstance(r, TooManyBins) for r in created if r is not None)


# -- failures ---------------------------------------------------------------------------------


async def test_a_lost_connection_fails_the_batch_as_unavailable_and_stores_nothing(
    stores: list[PostgresStore], url: str
) -> None:
    store = await opened(stores, url)
    await store.create_bin(make_bin())
    blocker = await asyncpg.connect(url)
    try:
        # Hold the bin's row so that the writer waits inside its transaction, then cut its connection.
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("SELECT 1 FROM bins WHERE id = 'bin-one' FOR UPDATE")
        pending = [asyncio.create_task(store.add_request(make_request())) for _ in range(5)]
        waiting = await writer_waiting(blocker)
        await blocker.execute("SELECT pg_terminate_backend($1)", waiting)
        for task in pending:
            with pytest.raises(StoreUnavailable):
                await task
        await transaction.rollback()
    finally:
        await blocker.close()
    assert await query(url, "SELECT id FROM requests") == []
    assert await store.add_request(make_request()) > 0  # a new connection takes over


async def test_a_request_the_database_refuses_fails_alone(stores: list[PostgresStore], url: str) -> None:
    store = await opened(stores, url)
    await store.create_bin(make_bin())
    # PostgreSQL text cannot hold NUL; SQLite can. The neighbours in the batch still commit.
    results = await asyncio.gather(
        store.add_request(make_request()),
        store.add_request(make_request(query="a=\x00")),
        store.add_request(make_request()),
        return_exceptions=True,
    )
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], asyncpg.DataError)
    assert await store.count_requests("bin-one") == 2


async def test_sessions_commit_synchronously_and_never_jit(stores: list[PostgresStore], url: str) -> None:
    store = await opened(stores, f"{url}&synchronous_commit=off")
    assert store._pool is not None
    for _ in range(3):  # and still after the pool's RESET ALL between uses
        async with store._pool.acquire() as conn:
            assert await conn.fetchval("SHOW synchronous_commit") == "on"
            assert await conn.fetchval("SHOW jit") == "off"
            await conn.execute("SET synchronous_commit = off")


async def test_deleting_a_bin_while_its_batch_waits_skips_only_its_rows(
    stores: list[PostgresStore], url: str
) -> None:
    store = await opened(stores, url)
    for bin_id in ("doomed", "kept"):
        await store.create_bin(make_bin(bin_id))
    blocker = await asyncpg.connect(url)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("DELETE FROM bins WHERE id = 'doomed'")  # not committed yet: the writer waits
        results = asyncio.gather(
            store.add_request(make_request("kept")),
            store.add_request(make_request("doomed")),
            return_exceptions=True,
        )
        await writer_waiting(blocker)
        await transaction.commit()
        kept, doomed = await results
    finally:
        await blocker.close()
    assert isinstance(kept, int) and isinstance(doomed, BinNotFound)


# -- a full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs for a tablespace: PostgreSQL runs out of room there as on a full disk."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    if urlsplit(ADMIN_URL).hostname not in ("127.0.0.1", "localhost", "::1"):
        pytest.skip("the tablespace must be on the PostgreSQL server's own disk")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres system user to own the tablespace")
    mount = Path("/tmp") / f"inspector-pg-full-{os.getpid()}-{time.monotonic_ns()}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=False)
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip("cannot mount a tmpfs here")
    try:
        shutil.chown(mount, user="postgres", group="postgres")
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        mount.rmdir()


async def test_a_full_disk_fails_captures_as_unavailable(
    stores: list[PostgresStore], pg_database: str, small_disk: Path
) -> None:
    space = f"inspector_full_{small_disk.name.rsplit('-', 1)[-1]}"
    schema = f"full_{small_disk.name.rsplit('-', 1)[-1]}"
    await query(pg_database, f"CREATE TABLESPACE {space} LOCATION '{small_disk}'")
    try:
        await query(pg_database, f"CREATE SCHEMA {schema}")
        url = f"{with_schema(pg_database, schema)}&default_tablespace={space}"
        store = await opened(stores, url, max_requests=10_000)
        await store.create_bin(make_bin())
        body = os.urandom(1 << 20)  # random: TOAST cannot compress it
        stored: list[int] = []
        failure: Exception | None = None
        for _ in range(40):  # bounded: 40 MiB cannot fit in 24
            try:
                stored.append(await store.add_request(make_request(body=body)))
            except StoreUnavailable as exc:
                failure = exc
                break
        assert failure is not None, "the disk never filled"
        assert isinstance(failure.__cause__, asyncpg.DiskFullError)
        # Every request that was answered is there; the refused one is not.
        assert await store.count_requests("bin-one") == len(stored)
        found = await query(url, "SELECT id FROM requests ORDER BY id")
        assert [row[0] for row in found] == stored
        await store.close()
    finally:
        await query(pg_database, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await query(pg_database, f"DROP TABLESPACE IF EXISTS {space}")


async def test_health_checks_fail_on_a_read_only_database(stores: list[PostgresStore], url: str) -> None:
    await opened(stores, url)  # migrated while it could still be written
    store = await opened(stores, f"{url}&default_transaction_read_only=on")
    await store.ping()  # reads still work
    with pytest.raises(StoreUnavailable):
        await store.check_writes()
    with pytest.raises(StoreUnavailable):
        await store.create_bin(make_bin())
    assert await store.expired_bins(datetime.now(UTC) + timedelta(days=9), limit=5) == []
