"""The default store: one SQLite file in WAL mode, one group-committing writer and separate readers."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import itertools
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import IO, Any, TypeVar

import aiosqlite
import msgspec
import structlog

from inspector.models import (
    Attempt,
    Bin,
    BinChanges,
    BinSecret,
    CapturedRequest,
    CheckJob,
    ForwardJob,
    RequestSummary,
    SignatureCheck,
)
from inspector.search import SCAN_WINDOW, FoundPage, RequestQuery
from inspector.store import rows
from inspector.store import scan as scan_rows
from inspector.store.base import (
    BinExists,
    BinNotFound,
    SchemaTooNew,
    Store,
    StoreClosed,
    Stored,
    StoreLocked,
    StoreUnavailable,
    TooManyBins,
)
from inspector.store.jobs import forward_jobs_for

log = structlog.get_logger(__name__)

_T = TypeVar("_T")

# What each `synchronous` setting survives is explained in docs/durability.md.
SYNCHRONOUS_MODES = ("off", "normal", "full", "extra")

# Rows per INSERT statement: well under SQLite's limit of 32,766 bound variables (21 a row).
_ROWS_PER_STATEMENT = 500
# Bins whose newest id the writer remembers; past this it forgets them all (they only cost a store read).
_NEWEST_BINS = 100_000


@functools.cache
def _insert_requests(count: int) -> str:
    """One statement for many rows: one step, one GIL hand-off and, in autocommit mode, one commit.

    A row whose bin was deleted while the request waited in the queue is skipped rather than
    failing the statement, so the other requests still commit.
    """
    values = ", ".join(["(" + ", ".join("?" * 21) + ")"] * count)
    return (
        f"INSERT INTO requests (id, {rows.REQUEST_COLUMNS}) SELECT * FROM (VALUES {values}) AS batch"
        " WHERE EXISTS (SELECT 1 FROM bins WHERE bins.id = batch.column2)"
    )


# The oldest `?2` requests of bin `?1`, along the requests_by_bin (bin_id, id) index.
_EVICT_OLDEST = (
    "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE bin_id = ?1 ORDER BY id LIMIT ?2)"
)


async def _on_writer_thread(conn: aiosqlite.Connection, fn: Callable[..., _T], *args: Any) -> _T:
    """`fn(db, *args)` on `conn`'s own thread, `db` being its sqlite3 connection: one trip there and back.

    aiosqlite sends each statement to its thread on its own, and each answer waits for the GIL behind
    the busy event loop: a group commit at a full bin (BEGIN, INSERT, DELETE, COMMIT) made four such
    trips and took about 14% of capture throughput. aiosqlite has no public call for several statements
    at once; `_execute` is the primitive each of its public methods is built on.
    """
    return await conn._execute(fn, conn._conn, *args)


def _write_batch(db: sqlite3.Connection, values: list[tuple[Any, ...]], excess: dict[str, int]) -> int:
    """Insert a group commit's rows and evict what they push out of full bins; the rows inserted.

    Runs on the writer's thread. A full bin's oldest go in the transaction that brings its newest:
    one commit (one sync) for both, and no reader ever sees a bin holding more than its limit.
    Without eviction the INSERT is its own transaction (the writer is in autocommit mode).
    """
    inserted = 0
    if excess:
        db.execute("BEGIN IMMEDIATE")
    try:
        for start in range(0, len(values), _ROWS_PER_STATEMENT):
            chunk = values[start : start + _ROWS_PER_STATEMENT]
            inserted += db.execute(_insert_requests(len(chunk)), [v for row in chunk for v in row]).rowcount
        for bin_id, count in excess.items():
            # One DELETE per full bin per group commit, walking only the rows it removes.
            db.execute(_EVICT_OLDEST, (bin_id, count))
        if excess:
            db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            # The failure being handled is the one to report; a failed rollback adds nothing to it.
            with contextlib.suppress(Exception):
                db.execute("ROLLBACK")
        raise
    return inserted


def _lock_file(path: Path) -> IO[bytes]:
    """Hold `path`.lock for as long as the store is open: one process per database file.

    Request ids and per-bin counts are kept by the one writer, so a second process on the same file
    would hand out ids the first has already given; it must not start at all. The lock goes with the
    process, however it ends.
    """
    lock = (path.parent / f"{path.name}.lock").open("wb")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise StoreLocked(
            f"another Webhook Inspector process is using {path}: one process per SQLite file. "
            "Stop it, give this one its own --db, or run several processes on PostgreSQL (--database-url)."
        ) from None
    return lock


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("inspector.store.migrations") / "sqlite"
    scripts = [item for item in folder.iterdir() if item.name.endswith(".sql")]
    return sorted((int(item.name.split("_", 1)[0]), item.read_text("utf-8")) for item in scripts)


def known_schema_version() -> int:
    """The newest schema version this code can open (the last migration's number)."""
    scripts = _migrations()
    return scripts[-1][0] if scripts else 0


class SQLiteStore(Store):
    """Bins and requests in one SQLite file.

    Every write goes through one connection. Captured requests queue up while the previous
    commit runs and the next commit takes all of them at once (group commit): one fsync for
    many requests, and no waiting for more to arrive. Reads use their own connections, so a
    long commit never delays a page. Only one process may use the file at a time: the bin
    cache and request ids rely on it.
    """

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "full",
        readers: int = 2,
        max_requests: int = 1000,
    ) -> None:
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
        self.path = path
        self._max_requests = max_requests
        self._synchronous = synchronous
        self._reader_count = max(1, readers)
        # Requests stored per bin, counted once and then kept up to date under the write lock (this
        # process is the file's only writer): keeping a bin to its limit and showing its count cost
        # no COUNT(*) after the first.
        self._counts: dict[str, int] = {}
        # Each bin's own request limit (None: the server's), read once; every change to it passes here.
        self._limits: dict[str, int | None] = {}
        self._queue: list[tuple[CapturedRequest, asyncio.Future[Stored]]] = []
        # The newest id committed in each bin this writer has written to since opening (the single
        # writer assigns every id, so it is exact): a capture's `previous` (Stored). A bin not seen
        # yet, or forgotten when the map grew too big, gives None, and live views read the store.
        self._newest: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._closing = False
        self._last_id = 0
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._next_reader: Iterator[aiosqlite.Connection] = iter(())
        self._commit_task: asyncio.Task[None] | None = None
        self._lock: IO[bytes] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        self._closing = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_file(self.path)
        try:
            await self._refuse_newer_schema()
            # Autocommit: every write is one statement, committed (with synchronous=full, synced) as it ends.
            self._writer = await self._connect(autocommit=True)
            await self._migrate(self._writer)
        except BaseException:
            # A refused file (newer schema) must not stay locked or half-open.
            await self.close()
            raise
        self._readers = [await self._connect(query_only=True) for _ in range(self._reader_count)]
        self._next_reader = itertools.cycle(self._readers)
        self._last_id = await self._highest_request_id()
        # Another process may have written the file while it was closed.
        self._newest.clear()
        self._commit_task = asyncio.create_task(self._commit_loop(), name="sqlite-group-commit")

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._commit_task is not None:
            await self._commit_task
        for conn in [*self._readers, *([self._writer] if self._writer else [])]:
            await conn.close()
        self._readers, self._writer = [], None
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    async def ping(self) -> None:
        await self._fetchone("SELECT 1", ())

    async def check_writes(self) -> None:
        # A real commit: a rolled-back transaction never touches the file, so it proves nothing.
        await self._write(
            "INSERT INTO health (id, checked_at) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
            (datetime.now(UTC).isoformat(),),
        )

    async def _connect(self, *, autocommit: bool = False, query_only: bool = False) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None if autocommit else "DEFERRED")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA busy_timeout = 5000")
        if query_only:
            await conn.execute("PRAGMA query_only = ON")
        return conn

    async def _refuse_newer_schema(self) -> None:
        """Refuse a file a newer version wrote, before anything (even the journal mode) is written to it.

        Its tables may mean what this version cannot know, and writing to them could corrupt them.
        """
        async with aiosqlite.connect(self.path) as conn:
            (current,) = await (await conn.execute("PRAGMA user_version")).fetchone() or (0,)
        if current > known_schema_version():
            raise SchemaTooNew(str(self.path), current, known_schema_version())

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        (current,) = await (await conn.execute("PRAGMA user_version")).fetchone() or (0,)
        for version, script in _migrations():
            if version <= current:
                continue
            # One transaction per migration: a crash leaves the schema at a known version.
            await conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
            log.info("schema migrated", database=str(self.path), version=version)

    async def _highest_request_id(self) -> int:
        row = await self._fetchone(
            "SELECT MAX(x) FROM (SELECT seq AS x FROM sqlite_sequence WHERE name = 'requests'"
            " UNION ALL SELECT MAX(id) FROM requests)",
            (),
        )
        return int(row[0] or 0) if row else 0

    # -- writes ---------------------------------------------------------------------------

    async def add_request(self, request: CapturedRequest) -> int:
        return (await self.add_capture(request)).id

    async def add_capture(self, request: CapturedRequest) -> Stored:
        if self._closing:
            raise StoreClosed("the store is shutting down")
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        self._wake.set()
        return await future

    async def _commit_loop(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            # Take whatever queued up during the previous commit; never linger for more.
            batch, self._queue = self._queue, []
            async with self._write_lock:
                started = time.perf_counter()
                await self._commit_batch(batch)
                self._observe_commit(len(batch), time.perf_counter() - started)

    async def _commit_batch(self, batch: list[tuple[CapturedRequest, asyncio.Future[Stored]]]) -> None:
        conn = self._require_writer()
        first_id = self._last_id + 1
        self._last_id += len(batch)
        # The batch's bins are forgotten until it is settled: should it fail half-way, after some rows
        # committed, their next captures say nothing of `previous` (live views then read the store).
        newest = {b: self._newest.pop(b) for b in {r.bin_id for r, _ in batch} if b in self._newest}
        values = [_request_row(first_id + n, request) for n, (request, _) in enumerate(batch)]
        added = Counter(request.bin_id for request, _ in batch)
        inserted = 0
        failure: Exception | None = None
        try:
            excess = await self._excess(conn, added)
            inserted = await _on_writer_thread(conn, _write_batch, values, excess)
        except Exception as exc:
            log.error("commit failed", error=str(exc), requests=len(batch))
            failure = (
                StoreUnavailable(f"the database cannot take writes: {exc}")
                if isinstance(exc, sqlite3.OperationalError)
                else exc
            )
            self._counts.clear()  # whatever was counted may not have happened
        stored: set[int] | None = None
        if inserted != len(batch) or failure is not None:
            # Rare: a bin vanished, or a statement failed (after earlier ones committed, in autocommit).
            ids = [row[0] for row in values]
            found = await conn.execute_fetchall(
                f"SELECT id FROM requests WHERE id IN ({', '.join('?' * len(ids))})", ids
            )
            stored = {row[0] for row in found}
        if stored is not None:
            for bin_id in added:
                self._counts.pop(bin_id, None)  # counted again when next needed
        # Each committed row's previous in its bin (a cancelled capture's row too: it is committed).
        previous: dict[int, int | None] = {}
        for n, (request, _) in enumerate(batch):
            if stored is None or first_id + n in stored:
                previous[n] = newest.get(request.bin_id)
                newest[request.bin_id] = first_id + n
        if len(self._newest) > _NEWEST_BINS:
            self._newest.clear()
        self._newest.update(newest)
        for n, (request, future) in enumerate(batch):
            request_id = first_id + n
            committed_here = stored is None or request_id in stored
            if future.done():  # the capture was cancelled; a committed row stays all the same
                continue
            if committed_here:
                future.set_result(Stored(id=request_id, previous=previous.get(n)))
            else:
                future.set_exception(failure or BinNotFound(request.bin_id))

    async def _excess(self, conn: aiosqlite.Connection, added: Counter[str]) -> dict[str, int]:
        """Keep each bin to its newest max_requests: how many of each bin's oldest must go once
        `added` commits (the newest are never refused). Counts are taken as if it has committed."""
        excess: dict[str, int] = {}
        for bin_id, count in added.items():
            if bin_id not in self._counts:
                self._counts[bin_id] = await self._counted(conn, bin_id)
            limit = await self._limit_of(bin_id)
            over = self._counts[bin_id] + count - limit
            if over > 0:
                excess[bin_id] = over
            self._counts[bin_id] = min(self._counts[bin_id] + count, limit)
        return excess

    async def _limit_of(self, bin_id: str) -> int:
        if bin_id not in self._limits:
            bin = await self.get_bin(bin_id)
            self._limits[bin_id] = bin.max_requests if bin else None
        return self._limits[bin_id] or self._max_requests

    @staticmethod
    async def _counted(conn: aiosqlite.Connection, bin_id: str) -> int:
        counted = await conn.execute_fetchall("SELECT COUNT(*) FROM requests WHERE bin_id = ?", (bin_id,))
        return int(counted[0][0])

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer connection, alone; a database that cannot take the write says so as StoreUnavailable."""
        if self._closing:
            raise StoreClosed("the store is shutting down")
        conn = self._require_writer()
        async with self._write_lock:
            try:
                yield conn
            except sqlite3.OperationalError as exc:  # disk full, I/O error, locked by another process
                log.error("write failed", error=str(exc))
                raise StoreUnavailable(f"the database cannot take writes: {exc}") from exc

    async def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        async with self._writing() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def _write_returning(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        async with self._writing() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def create_bin(self, bin: Bin, *, creator_cap: int | None = None) -> None:
        insert = f"INSERT INTO bins ({rows.BIN_COLUMNS}) VALUES ({', '.join('?' * 12)})"
        params: tuple[Any, ...] = _bin_row(bin)
        if creator_cap is not None:
            # One statement counts and inserts: concurrent creations cannot both see room for one more.
            insert = (
                f"INSERT INTO bins ({rows.BIN_COLUMNS}) SELECT {', '.join('?' * 12)}"
                " WHERE (SELECT COUNT(*) FROM bins WHERE creator_ip = ? AND expires_at > ?) < ?"
            )
            params = (*params, bin.creator_ip, datetime.now(UTC).isoformat(), creator_cap)
        try:
            inserted = await self._write(insert, params)
        except sqlite3.IntegrityError:
            raise BinExists(bin.id) from None
        if inserted == 0:
            raise TooManyBins(bin.creator_ip or "")

    async def update_bin(self, bin_id: str, changes: BinChanges) -> Bin | None:
        fields = changes.fields()
        if fields:
            assignments = ", ".join(f"{name} = ?" for name in fields)
            values = (*(_bin_value(name, value) for name, value in fields.items()), bin_id)
            async with self._writing() as conn:
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    await conn.execute(f"UPDATE bins SET {assignments} WHERE id = ?", values)
                    if "max_requests" in fields:
                        # A lower limit applies now, not at the next capture: the page and the API
                        # would otherwise show more requests than the bin keeps.
                        limit = fields["max_requests"] or self._max_requests
                        await conn.execute(
                            "DELETE FROM requests WHERE bin_id = ?1 AND id <= (SELECT id FROM requests"
                            " WHERE bin_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                            (bin_id, limit),
                        )
                    await conn.execute("COMMIT")
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise
                finally:
                    self._counts.pop(bin_id, None)
                    self._limits.pop(bin_id, None)
        return await self.get_bin(bin_id)

    async def upsert_bin(self, bin: Bin) -> None:
        settings = [name for name in rows.BIN_COLUMNS.split(", ") if name not in _BIN_KEPT_BY_UPSERT]
        assignments = ", ".join(f"{name} = excluded.{name}" for name in settings)
        async with self._writing() as conn:
            await conn.execute(
                f"INSERT INTO bins ({rows.BIN_COLUMNS}) VALUES ({', '.join('?' * 12)})"
                f" ON CONFLICT (id) DO UPDATE SET {assignments}",
                _bin_row(bin),
            )
            self._limits.pop(bin.id, None)

    async def expired_bins(self, now: datetime, *, limit: int) -> list[str]:
        found = await self._reader().execute_fetchall(
            "SELECT id FROM bins WHERE expires_at <= ? AND fixed = 0 ORDER BY expires_at LIMIT ?",
            (now.isoformat(), limit),
        )
        return [row[0] for row in found]

    async def count_bins_by_creator(self, creator_ip: str, now: datetime) -> int:
        row = await self._fetchone(
            "SELECT COUNT(*) FROM bins WHERE creator_ip = ? AND expires_at > ?", (creator_ip, now.isoformat())
        )
        return int(row[0]) if row else 0

    async def stored_bytes(self) -> int:
        row = await self._fetchone(
            "SELECT COALESCE(SUM(body_size), 0) FROM requests WHERE rejected IS NULL", ()
        )
        return int(row[0]) if row else 0

    async def free_bytes(self, excess: int, *, limit: int) -> int:
        # A row goes if the bytes before it, oldest first, do not yet cover the excess.
        async with self._writing() as conn:
            cursor = await conn.execute(
                "DELETE FROM requests WHERE id IN (SELECT id FROM (SELECT id, size,"
                " SUM(size) OVER (ORDER BY id) AS running FROM (SELECT id,"
                " CASE WHEN rejected IS NULL THEN COALESCE(body_size, 0) ELSE 0 END AS size"
                " FROM requests ORDER BY id LIMIT ?)) WHERE running - size < ?)",
                (limit, excess),
            )
            self._counts.clear()  # rows of any bin may have gone
            return cursor.rowcount

    async def delete_bin(self, bin_id: str) -> bool:
        async with self._writing() as conn:
            deleted = (await conn.execute("DELETE FROM bins WHERE id = ?", (bin_id,))).rowcount
            self._counts.pop(bin_id, None)
            self._limits.pop(bin_id, None)
        return deleted > 0

    async def set_secret(self, bin_id: str, secret: BinSecret) -> None:
        async with self._writing() as conn:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                # A bin's first secret: checks on arrival start after its newest capture.
                await conn.execute(
                    "UPDATE bins SET check_cursor ="
                    " (SELECT COALESCE(MAX(id), 0) FROM requests WHERE bin_id = ?1)"
                    " WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM bin_secrets WHERE bin_id = ?1)",
                    (bin_id,),
                )
                await conn.execute(
                    f"INSERT INTO bin_secrets (bin_id, {rows.SECRET_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (bin_id, provider) DO UPDATE SET"
                    " secret = excluded.secret, options = excluded.options, updated_at = excluded.updated_at",
                    (
                        bin_id,
                        secret.provider,
                        secret.secret,
                        msgspec.json.encode(secret.options).decode(),
                        secret.updated_at.isoformat(),
                    ),
                )
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise

    async def get_secrets(self, bin_id: str) -> list[BinSecret]:
        found = await self._reader().execute_fetchall(
            f"SELECT {rows.SECRET_COLUMNS} FROM bin_secrets WHERE bin_id = ? ORDER BY provider", (bin_id,)
        )
        return [rows.secret_from_row(row) for row in found]

    async def delete_secret(self, bin_id: str, provider: str) -> bool:
        deleted = await self._write(
            "DELETE FROM bin_secrets WHERE bin_id = ? AND provider = ?", (bin_id, provider)
        )
        return deleted > 0

    async def set_forward_targets(self, bin_id: str, targets: list[str]) -> None:
        # Turning forwarding on starts after the newest capture: old captures are replayed by hand.
        await self._write(
            "UPDATE bins SET forward_cursor = CASE WHEN forward_targets = '[]'"
            " THEN (SELECT COALESCE(MAX(id), 0) FROM requests WHERE bin_id = ?) ELSE forward_cursor END,"
            " forward_targets = ? WHERE id = ?",
            (bin_id, msgspec.json.encode(targets).decode(), bin_id),
        )

    async def enqueue_forwards(
        self, *, now: datetime, max_pending: int, limit: int = 500
    ) -> list[ForwardJob]:
        conn = self._require_writer()
        async with self._write_lock:
            new = await conn.execute_fetchall(
                "SELECT r.id, r.bin_id, b.forward_targets"
                " FROM requests AS r JOIN bins AS b ON b.id = r.bin_id"
                " WHERE b.forward_targets != '[]' AND r.id > b.forward_cursor ORDER BY r.id LIMIT ?",
                (limit,),
            )
            if not new:
                return []
            pending = dict(
                await conn.execute_fetchall(
                    "SELECT bin_id, COUNT(*) FROM forward_jobs WHERE state = 'pending' GROUP BY bin_id"
                )
            )
            jobs, cursors = forward_jobs_for(
                ((request_id, bin_id, msgspec.json.decode(targets)) for request_id, bin_id, targets in new),
                pending,
                now=now,
                max_pending=max_pending,
            )
            # One transaction: the jobs and the cursor that says they exist move together.
            await conn.execute("BEGIN IMMEDIATE")
            try:
                await conn.executemany(
                    "INSERT OR IGNORE INTO forward_jobs"
                    " (request_id, target, bin_id, state, attempts, next_attempt_at, last_error, origin)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            j.request_id,
                            j.target,
                            j.bin_id,
                            j.state,
                            0,
                            j.next_attempt_at.isoformat(),
                            j.last_error,
                            j.origin,
                        )
                        for j in jobs
                    ],
                )
                await conn.executemany(
                    "UPDATE bins SET forward_cursor = ? WHERE id = ? AND forward_cursor < ?",
                    [(cursor, bin_id, cursor) for bin_id, cursor in cursors.items()],
                )
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            return jobs

    async def claim_forward_jobs(
        self, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[ForwardJob]:
        until = now + timedelta(seconds=lease_seconds)
        # One statement picks the due, unclaimed jobs and claims them: no other claimer, in this
        # process or another, can pick the same job between the two.
        found = await self._write_returning(
            "UPDATE forward_jobs SET claimed_until = ?1 WHERE rowid IN (SELECT rowid FROM forward_jobs"
            " WHERE state = 'pending' AND next_attempt_at <= ?2"
            " AND (claimed_until IS NULL OR claimed_until <= ?2)"
            f" ORDER BY next_attempt_at, request_id LIMIT ?3) RETURNING {rows.JOB_COLUMNS}",
            (until.isoformat(), now.isoformat(), limit),
        )
        jobs = [rows.job_from_row(row) for row in found]
        return sorted(jobs, key=lambda job: (job.next_attempt_at, job.request_id))

    async def next_forward_due(self) -> datetime | None:
        # A claimed job is due again when its claim runs out (a crashed delivery is retried then).
        row = await self._fetchone(
            "SELECT MIN(MAX(next_attempt_at, COALESCE(claimed_until, next_attempt_at)))"
            " FROM forward_jobs WHERE state = 'pending'",
            (),
        )
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    async def update_forward_job(self, job: ForwardJob) -> bool:
        changed = await self._write(
            "UPDATE forward_jobs SET state = ?, attempts = ?, next_attempt_at = ?,"
            " last_status = ?, last_error = ?, claimed_until = NULL"
            " WHERE request_id = ? AND target = ? AND claimed_until IS ?",
            (
                job.state,
                job.attempts,
                job.next_attempt_at.isoformat(),
                job.last_status,
                job.last_error,
                job.request_id,
                job.target,
                job.claimed_until.isoformat() if job.claimed_until else None,
            ),
        )
        return changed > 0

    async def take_forward_budget(self, origin: str, *, budget: int, now: datetime) -> bool:
        taken = await self._write_returning(
            "INSERT INTO forward_origins (origin, deliveries, last_at) VALUES (?1, 1, ?2)"
            " ON CONFLICT (origin) DO UPDATE SET deliveries = deliveries + 1, last_at = ?2"
            " WHERE deliveries < ?3 RETURNING deliveries",
            (origin, now.isoformat(), budget),
        )
        return bool(taken)

    async def forget_forward_origins(self, *, before: datetime) -> int:
        return await self._write("DELETE FROM forward_origins WHERE last_at < ?", (before.isoformat(),))

    async def forward_jobs(self, bin_id: str, request_id: int) -> list[ForwardJob]:
        found = await self._reader().execute_fetchall(
            f"SELECT {rows.JOB_COLUMNS} FROM forward_jobs WHERE bin_id = ? AND request_id = ?"
            " ORDER BY target",
            (bin_id, request_id),
        )
        return [rows.job_from_row(row) for row in found]

    # -- on-arrival signature checks ------------------------------------------------------

    async def enqueue_checks(self, *, limit: int = 500) -> int:
        async with self._writing() as conn:
            # One transaction: the jobs and the cursors that say they exist move together.
            await conn.execute("BEGIN IMMEDIATE")
            try:
                new = await conn.execute_fetchall(
                    "SELECT r.id, r.bin_id FROM requests AS r JOIN bins AS b ON b.id = r.bin_id"
                    " WHERE r.id > b.check_cursor AND r.rejected IS NULL"
                    " AND EXISTS (SELECT 1 FROM bin_secrets AS s WHERE s.bin_id = b.id)"
                    " ORDER BY r.id LIMIT ?",
                    (limit,),
                )
                await conn.executemany(
                    "INSERT OR IGNORE INTO check_jobs (request_id, bin_id) VALUES (?, ?)", list(new)
                )
                cursors = {bin_id: request_id for request_id, bin_id in new}
                await conn.executemany(
                    "UPDATE bins SET check_cursor = ? WHERE id = ? AND check_cursor < ?",
                    [(cursor, bin_id, cursor) for bin_id, cursor in cursors.items()],
                )
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            return len(new)

    async def claim_check_jobs(self, *, now: datetime, lease_seconds: float, limit: int) -> list[CheckJob]:
        until = now + timedelta(seconds=lease_seconds)
        found = await self._write_returning(
            "UPDATE check_jobs SET claimed_until = ?1 WHERE request_id IN (SELECT request_id FROM check_jobs"
            " WHERE claimed_until IS NULL OR claimed_until <= ?2 ORDER BY request_id LIMIT ?3)"
            " RETURNING request_id, bin_id, claimed_until",
            (until.isoformat(), now.isoformat(), limit),
        )
        return sorted((rows.check_job_from_row(row) for row in found), key=lambda job: job.request_id)

    async def complete_check_job(self, job: CheckJob, check: SignatureCheck | None) -> bool:
        claim = job.claimed_until.isoformat() if job.claimed_until else None
        async with self._writing() as conn:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = await conn.execute(
                    "DELETE FROM check_jobs WHERE request_id = ? AND claimed_until IS ?",
                    (job.request_id, claim),
                )
                if cursor.rowcount and check is not None:
                    await conn.execute(_RECORD_CHECK, _check_row(job.request_id, check))
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            return cursor.rowcount > 0

    # -- coordination ---------------------------------------------------------------------

    async def try_lease(self, name: str, holder: str, *, now: datetime, seconds: float) -> bool:
        until = now + timedelta(seconds=seconds)
        taken = await self._write_returning(
            "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE"
            " SET holder = ?2, until = ?3 WHERE leases.holder = ?2 OR leases.until <= ?4 RETURNING holder",
            (name, holder, until.isoformat(), now.isoformat()),
        )
        return bool(taken)

    async def add_attempt(self, attempt: Attempt) -> int:
        async with self._writing() as conn:
            cursor = await conn.execute(
                "INSERT INTO attempts"
                " (request_id, bin_id, kind, target, started_at, status, error, duration_ms, result)"
                " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM requests WHERE id = ?)",
                (
                    attempt.request_id,
                    attempt.bin_id,
                    attempt.kind,
                    attempt.target,
                    attempt.started_at.isoformat(),
                    attempt.status,
                    attempt.error,
                    attempt.duration_ms,
                    attempt.result,
                    attempt.request_id,
                ),
            )
            return cursor.lastrowid or 0

    async def list_attempts(self, bin_id: str, request_id: int) -> list[Attempt]:
        found = await self._reader().execute_fetchall(
            f"SELECT {rows.ATTEMPT_COLUMNS} FROM attempts WHERE bin_id = ? AND request_id = ?"
            " ORDER BY id DESC",
            (bin_id, request_id),
        )
        return [rows.attempt_from_row(row) for row in found]

    async def record_check(self, request_id: int, check: SignatureCheck) -> None:
        await self._write(_RECORD_CHECK, _check_row(request_id, check))

    async def delete_request(self, bin_id: str, request_id: int) -> bool:
        async with self._writing() as conn:
            cursor = await conn.execute(
                "DELETE FROM requests WHERE bin_id = ? AND id = ?", (bin_id, request_id)
            )
            if bin_id in self._counts:
                self._counts[bin_id] -= cursor.rowcount
        return cursor.rowcount > 0

    async def clear_requests(self, bin_id: str) -> int:
        async with self._writing() as conn:
            cursor = await conn.execute("DELETE FROM requests WHERE bin_id = ?", (bin_id,))
            self._counts[bin_id] = 0
        return cursor.rowcount

    # -- reads ----------------------------------------------------------------------------

    async def get_bin(self, bin_id: str) -> Bin | None:
        row = await self._fetchone(f"{rows.BIN_SELECT} WHERE id = ?", (bin_id,))
        return rows.bin_from_row(row) if row else None

    async def get_request(self, bin_id: str, request_id: int) -> CapturedRequest | None:
        row = await self._fetchone(
            f"{rows.REQUEST_SELECT} WHERE bin_id = ? AND id = ?",
            (bin_id, request_id),
        )
        return rows.request_from_row(row) if row else None

    async def get_summary(self, bin_id: str, request_id: int) -> RequestSummary | None:
        row = await self._fetchone(
            f"{rows.SUMMARY_SELECT} WHERE r.bin_id = ? AND r.id = ?", (bin_id, request_id)
        )
        return rows.summary_from_row(row) if row else None

    async def list_requests(
        self, bin_id: str, *, limit: int, before: int | None = None
    ) -> list[RequestSummary]:
        # Keyset paging on the (bin_id, id) index: a page costs the same however big the bin.
        found = await self._reader().execute_fetchall(
            f"{rows.SUMMARY_SELECT} WHERE r.bin_id = ? AND r.id < ? ORDER BY r.id DESC LIMIT ?",
            (bin_id, before if before is not None else 2**63 - 1, limit),
        )
        return [rows.summary_from_row(row) for row in found]

    async def requests_after(self, bin_id: str, *, after: int, limit: int) -> list[RequestSummary]:
        found = await self._reader().execute_fetchall(
            f"{rows.SUMMARY_SELECT} WHERE r.bin_id = ? AND r.id > ? ORDER BY r.id LIMIT ?",
            (bin_id, after, limit),
        )
        return [rows.summary_from_row(row) for row in found]

    async def find_requests(
        self,
        bin_id: str,
        query: RequestQuery,
        *,
        limit: int,
        before: int | None = None,
        after: int | None = None,
        scan: int = SCAN_WINDOW,
    ) -> FoundPage:
        select = rows.find_select("r.body" if query.needs_body else "X''")

        async def fetch(low: int, high: int, newest_first: bool, n: int) -> list[Any]:
            order = "DESC" if newest_first else "ASC"
            return list(
                await self._reader().execute_fetchall(
                    f"{select} WHERE r.bin_id = ? AND r.id > ? AND r.id < ? ORDER BY r.id {order} LIMIT ?",
                    (bin_id, low, high, n),
                )
            )

        return await scan_rows.find(fetch, query, limit=limit, before=before, after=after, scan=scan)

    async def count_requests(self, bin_id: str) -> int:
        # From the writer's own count (no SQL once known): a page view or live event in a bin of
        # 100,000 requests costs what it costs in a bin of 100.
        if (known := self._counts.get(bin_id)) is not None:
            return known
        if self._closing or self._writer is None:
            row = await self._fetchone("SELECT COUNT(*) FROM requests WHERE bin_id = ?", (bin_id,))
            return int(row[0]) if row else 0
        # Counted under the write lock, so no commit lands between the count and its keeping.
        async with self._write_lock:
            if bin_id not in self._counts:
                self._counts[bin_id] = await self._counted(self._require_writer(), bin_id)
            return self._counts[bin_id]

    async def queue_depths(self) -> dict[str, int]:
        row = await self._fetchone(
            "SELECT (SELECT COUNT(*) FROM forward_jobs WHERE state = 'pending'),"
            " (SELECT COUNT(*) FROM check_jobs)",
            (),
        )
        forward, check = (int(row[0]), int(row[1])) if row else (0, 0)
        return {"commit": len(self._queue), "forward": forward, "check": check}

    # -- helpers --------------------------------------------------------------------------

    def _require_writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise StoreClosed("the store is not open")
        return self._writer

    def _reader(self) -> aiosqlite.Connection:
        if not self._readers:
            raise StoreClosed("the store is not open")
        return next(self._next_reader)

    async def _fetchone(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
        async with self._reader().execute(sql, params) as cursor:
            return await cursor.fetchone()


# The request may have been deleted while it was being checked: then there is nothing to record.
_RECORD_CHECK = (
    "INSERT INTO signature_checks (request_id, provider, valid, reason, checked_at)"
    " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM requests WHERE id = ?)"
    " ON CONFLICT (request_id) DO UPDATE SET provider = excluded.provider, valid = excluded.valid,"
    " reason = excluded.reason, checked_at = excluded.checked_at"
)


def _check_row(request_id: int, check: SignatureCheck) -> tuple[Any, ...]:
    return (
        request_id,
        check.provider,
        int(check.valid),
        check.reason,
        datetime.now(UTC).isoformat(),
        request_id,
    )


# What an upsert keeps of an existing bin: its identity, and its forwarding (set_forward_targets
# changes targets and cursor together).
_BIN_KEPT_BY_UPSERT = frozenset({"id", "created_at", "creator_ip", "forward_targets", "forward_cursor"})


def _bin_value(name: str, value: Any) -> Any:
    """A setting as its column stores it."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if name == "response":
        return rows.encode_response(value)
    return value


def _bin_row(bin: Bin) -> tuple[Any, ...]:
    """A bin's values in rows.BIN_COLUMNS order (a new bin's forward cursor is 0).

    Not shared with PostgreSQL: SQLite stores timestamps as ISO text and booleans as integers,
    where asyncpg takes datetimes and booleans as they are.
    """
    return (
        bin.id,
        bin.created_at.isoformat(),
        bin.expires_at.isoformat(),
        msgspec.json.encode(bin.forward_targets).decode(),
        rows.encode_response(bin.response),
        bin.max_requests,
        int(bin.private),
        bin.owner_token_hash,
        bin.share_token_hash,
        bin.creator_ip,
        int(bin.fixed),
        0,
    )


def _request_row(request_id: int, r: CapturedRequest) -> tuple[Any, ...]:
    return (
        request_id,
        r.bin_id,
        r.method,
        r.path,
        r.sub_path,
        r.query,
        msgspec.json.encode(r.headers).decode(),
        r.content_type,
        r.body_size,
        r.body_sha256,
        r.client_ip,
        r.client_port,
        r.host,
        r.scheme,
        r.http_version,
        r.received_at.isoformat(),
        r.rejected,
        r.body,
        *rows.labels(r),
    )
