"""The store for several processes and hosts: PostgreSQL, group commit, ids in commit order per bin."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
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
from inspector.store import pgmigrate, rows
from inspector.store import scan as scan_rows
from inspector.store.base import (
    BinExists,
    BinNotFound,
    Store,
    StoreClosed,
    StoreUnavailable,
    TooManyBins,
)
from inspector.store.jobs import forward_jobs_for

log = structlog.get_logger(__name__)

# What "the database cannot do it now" looks like: the connection is gone or cannot be made (class 08,
# OSError, a timeout), the server is out of disk or connections (53), shutting down or cancelling (57),
# has an I/O problem (58), is a read-only standby (25006), or gave up a transaction (40). All of them
# roll the transaction back, so "nothing changed" holds; the web layer answers 503.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.PostgresSystemError,
    asyncpg.ReadOnlySQLTransactionError,
    asyncpg.TransactionRollbackError,
)

# First halves of the two-key advisory locks, one per purpose, so that they never meet each other.
_CREATOR_LOCK = 0x5745_4249

# Bytes in a stored request, as the stored-bytes cap counts them: a rejected request kept no body.
STORED_SIZE = "CASE WHEN rejected IS NULL THEN COALESCE(body_size, 0) ELSE 0 END"

# One INSERT for many rows, each column an array: a PostgreSQL message may not pass 1 GiB, so a big
# batch is split over several statements (of one transaction still).
_INSERT_REQUESTS = (
    f"INSERT INTO requests (id, {rows.REQUEST_COLUMNS}) SELECT * FROM unnest($1::bigint[], $2::text[],"
    " $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[],"
    " $11::text[], $12::int[], $13::text[], $14::text[], $15::text[], $16::timestamptz[], $17::text[],"
    " $18::bytea[], $19::text[], $20::text[], $21::text[])"
)
_STATEMENT_BYTES = 64 * 2**20
_STATEMENT_ROWS = 2000

# After a batch is inserted: count its rows into their bins, and cut each bin that went over its
# limit back to its newest max_requests by deleting its oldest ids (an index range on (bin_id, id)),
# all in one statement. The counts are exact because every statement that adds or deletes a bin's
# requests holds the bin's row lock and updates them. MATERIALIZED: each bin's cut-off is found once;
# inlined, a planner without statistics (a new table) re-ran that search for every row it joined.
_COUNT_AND_RETAIN = f"""
WITH added AS (
    SELECT bin_id, count(*) AS n, sum({STORED_SIZE}) AS bytes
    FROM requests WHERE id = ANY($1::bigint[]) GROUP BY bin_id
), over AS MATERIALIZED (
    SELECT b.id AS bin_id, b.request_count + a.n - COALESCE(b.max_requests, $2) AS excess
    FROM added AS a JOIN bins AS b ON b.id = a.bin_id
), cut AS MATERIALIZED (
    SELECT over.bin_id, (SELECT r.id FROM requests AS r WHERE r.bin_id = over.bin_id
                         ORDER BY r.id OFFSET over.excess - 1 LIMIT 1) AS upto
    FROM over WHERE over.excess > 0
), gone AS (
    DELETE FROM requests AS r USING cut WHERE r.bin_id = cut.bin_id AND r.id <= cut.upto
    RETURNING r.bin_id, {STORED_SIZE} AS size
), freed AS (
    SELECT bin_id, count(*) AS n, sum(size) AS bytes FROM gone GROUP BY bin_id
)
UPDATE bins AS b SET request_count = b.request_count + a.n - COALESCE(f.n, 0),
                     stored_bytes = b.stored_bytes + a.bytes - COALESCE(f.bytes, 0)
FROM added AS a LEFT JOIN freed AS f ON f.bin_id = a.bin_id
WHERE b.id = a.bin_id
"""


def _delete_counted(where: str) -> str:
    """A DELETE of requests that keeps their bins' counts right in the same statement; returns how many.

    The caller must hold the bins' row locks (`_lock_bins`) first: a delete that locked request rows
    before their bin could deadlock with a batch that holds the bin and trims its oldest requests.
    """
    return (
        f"WITH gone AS (DELETE FROM requests WHERE {where} RETURNING bin_id, {STORED_SIZE} AS size),"
        " freed AS (SELECT bin_id, count(*) AS n, sum(size) AS bytes FROM gone GROUP BY bin_id),"
        " counted AS (UPDATE bins SET request_count = request_count - freed.n,"
        " stored_bytes = stored_bytes - freed.bytes FROM freed WHERE bins.id = freed.bin_id)"
        " SELECT COALESCE(sum(n), 0)::bigint FROM freed"
    )


# What an upsert replaces of an existing bin: every setting but its identity, its creation and
# creator, and its forwarding (set_forward_targets moves targets and cursor together).
_UPSERTED = (
    "expires_at",
    "response",
    "max_requests",
    "private",
    "owner_token_hash",
    "share_token_hash",
    "fixed",
)

_JOB_RETURNING = ", ".join(f"f.{column.strip()}" for column in rows.JOB_COLUMNS.split(","))

_Queued = tuple[CapturedRequest, "asyncio.Future[int]"]


class PostgresStore(Store):
    """Bins and requests in PostgreSQL, shared by any number of processes on any number of hosts.

    Captures are group-committed: `add_request` queues the request, one writer task per process
    takes everything queued, commits it in one transaction, and only then wakes the callers (whose
    2xx goes out after the commit). Ordering across processes: before drawing ids for a batch the
    writer locks the rows of the batch's bins (sorted by id, so two writers never deadlock) and
    keeps the locks until its commit, so within a bin ids are drawn, and committed, in order. The
    same lock guards each bin's request count, which makes retention a cheap index-range delete.
    """

    def __init__(
        self,
        url: str,
        *,
        max_requests: int = 1000,
        pool_size: int = 10,
        connect_timeout: float = 10,
        command_timeout: float = 60,
    ) -> None:
        self.url = url
        self._max_requests = max_requests
        self._pool_size = max(2, pool_size)
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._queue: list[_Queued] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._commit_task: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        self._closing = False
        try:
            self._pool = await self._create_pool()
            async with self._pool.acquire() as conn:
                await pgmigrate.migrate(conn)
        except BaseException as exc:
            if self._pool is not None:
                self._pool.terminate()
                self._pool = None
            if isinstance(exc, _UNAVAILABLE):
                raise StoreUnavailable(f"cannot use PostgreSQL: {exc}") from exc
            raise
        self._commit_task = asyncio.create_task(self._commit_loop(), name="postgres-group-commit")

    async def _create_pool(self) -> asyncpg.Pool:
        # No JIT: on a big table the planner's estimates for the retention statement passed
        # jit_above_cost, and compiling it took ~50 ms of a 1 ms statement (800 instead of 5,000
        # captures a second at 2M rows). Every statement here is short.
        settings: dict[str, str] = {"jit": "off"}
        probe = await asyncpg.connect(self.url, timeout=self._connect_timeout)
        try:
            # A 2xx promises the request survives a crash: where the database (or the URL) turns
            # synchronous commit off, our sessions turn it back on. A stronger setting (remote_apply
            # for synchronous replicas) is kept. Set at connect, so the pool's RESET ALL keeps it.
            if await probe.fetchval("SHOW synchronous_commit") == "off":
                settings["synchronous_commit"] = "on"
        finally:
            await probe.close()
        return await asyncpg.create_pool(
            self.url,
            min_size=1,
            max_size=self._pool_size,
            timeout=self._connect_timeout,
            command_timeout=self._command_timeout,
            server_settings=settings,
        )

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._commit_task is not None:
            await self._commit_task
            self._commit_task = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except TimeoutError:  # a connection stuck on a dead server: drop it rather than hang
                pool.terminate()

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.fetchval("SELECT 1")

    async def check_writes(self) -> None:
        # A real commit: it fails as captures would (read-only standby, full disk, lost connection).
        async with self._writing() as conn:
            await conn.execute(
                "INSERT INTO health (id, checked_at) VALUES (1, $1)"
                " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                datetime.now(UTC),
            )

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; a database that cannot answer now says so as StoreUnavailable."""
        if self._pool is None:
            raise StoreClosed("the store is not open")
        try:
            async with self._pool.acquire(timeout=self._connect_timeout) as conn:
                yield conn
        except _UNAVAILABLE as exc:
            log.error("database unavailable", error=str(exc) or type(exc).__name__)
            raise StoreUnavailable(f"the database cannot be used now: {exc}") from exc

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a transaction, committed when the block ends without an exception."""
        if self._closing:
            raise StoreClosed("the store is shutting down")
        async with self._connection() as conn, conn.transaction():
            yield conn

    # -- captures: group commit -----------------------------------------------------------

    async def add_request(self, request: CapturedRequest) -> int:
        if self._closing or self._pool is None:
            raise StoreClosed("the store is shutting down")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
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
            started = time.perf_counter()
            await self._commit(batch)
            self._observe_commit(len(batch), time.perf_counter() - started)

    async def _commit(self, batch: list[_Queued]) -> None:
        try:
            ids = await self._insert_batch([request for request, _ in batch])
        except asyncpg.DataError as exc:
            if len(batch) > 1:
                # One request the database cannot take (text it refuses) must not fail its neighbours.
                log.warning("batch refused, committing its requests one by one", error=str(exc))
                for item in batch:
                    await self._commit([item])
                return
            _fail(batch, exc)
            return
        except StoreUnavailable as exc:
            _fail(batch, exc)
            return
        except Exception as exc:  # never let the writer task die: the next batch may well succeed
            log.exception("commit failed", requests=len(batch))
            _fail(batch, exc)
            return
        for (request, future), request_id in zip(batch, ids, strict=True):
            if future.done():  # the capture was cancelled; a committed row stays all the same
                continue
            if request_id is None:
                future.set_exception(BinNotFound(request.bin_id))
            else:
                future.set_result(request_id)

    async def _insert_batch(self, requests: Sequence[CapturedRequest]) -> list[int | None]:
        """Commit `requests` in one transaction; their ids in order, None where the bin is gone."""
        # Not _writing(): at shutdown the writer still commits what was queued before it.
        async with self._connection() as conn, conn.transaction():
            # The bins' row locks, in sorted order, before any id is drawn, held until the commit:
            # a second writer (another process) with a batch for one of these bins waits here, then
            # draws larger ids and commits later. A bin deleted meanwhile returns no row: its requests
            # are skipped and the rest commit.
            present = await _lock_bins(conn, {request.bin_id for request in requests})
            kept = [request for request in requests if request.bin_id in present]
            if not kept:
                return [None] * len(requests)
            drawn = await conn.fetch(
                "SELECT nextval('requests_id_seq') FROM generate_series(1, $1)", len(kept)
            )
            new_ids = sorted(row[0] for row in drawn)
            for start, end in _statement_slices(kept):
                await conn.execute(_INSERT_REQUESTS, *_columns(new_ids[start:end], kept[start:end]))
            await conn.execute(_COUNT_AND_RETAIN, new_ids, self._max_requests)
        assigned = iter(new_ids)
        return [next(assigned) if request.bin_id in present else None for request in requests]

    # -- bins -----------------------------------------------------------------------------

    async def create_bin(self, bin: Bin, *, creator_cap: int | None = None) -> None:
        try:
            async with self._writing() as conn:
                if creator_cap is not None and bin.creator_ip is not None:
                    # Creations from one address take turns from here to the commit, so a count and
                    # the insert it allows cannot interleave with another's.
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock($1, hashtext($2))", _CREATOR_LOCK, bin.creator_ip
                    )
                    live = await conn.fetchval(
                        "SELECT count(*) FROM bins WHERE creator_ip = $1 AND expires_at > $2",
                        bin.creator_ip,
                        datetime.now(UTC),
                    )
                    if live >= creator_cap:
                        raise TooManyBins(bin.creator_ip)
                await conn.execute(
                    f"INSERT INTO bins ({rows.BIN_COLUMNS}) VALUES ({_placeholders(12)})", *_bin_values(bin)
                )
        except asyncpg.UniqueViolationError:
            raise BinExists(bin.id) from None

    async def upsert_bin(self, bin: Bin) -> None:
        assignments = ", ".join(f"{name} = excluded.{name}" for name in _UPSERTED)
        async with self._writing() as conn:
            await conn.execute(
                f"INSERT INTO bins ({rows.BIN_COLUMNS}) VALUES ({_placeholders(12)})"
                f" ON CONFLICT (id) DO UPDATE SET {assignments}",
                *_bin_values(bin),
            )

    async def update_bin(self, bin_id: str, changes: BinChanges) -> Bin | None:
        fields = changes.fields()
        if not fields:
            return await self.get_bin(bin_id)
        assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(fields, start=2))
        values = [rows.encode_response(v) if k == "response" else v for k, v in fields.items()]
        async with self._writing() as conn:
            if "max_requests" in fields:
                await _lock_bins(conn, {bin_id})  # before any request row, as every deleter does
            row = await conn.fetchrow(
                f"UPDATE bins SET {assignments} WHERE id = $1 RETURNING {rows.BIN_COLUMNS},"
                " EXISTS (SELECT 1 FROM bin_secrets WHERE bin_secrets.bin_id = bins.id)",
                bin_id,
                *values,
            )
            if row is not None and "max_requests" in fields:
                # A lower limit applies now, not at the next capture, counts kept exact.
                await conn.fetchval(
                    _delete_counted(
                        "bin_id = $1 AND id <= (SELECT id FROM requests WHERE bin_id = $1"
                        " ORDER BY id DESC OFFSET $2 LIMIT 1)"
                    ),
                    bin_id,
                    fields["max_requests"] or self._max_requests,
                )
        return rows.bin_from_row(row) if row else None

    async def get_bin(self, bin_id: str) -> Bin | None:
        row = await self._fetchrow(f"{rows.BIN_SELECT} WHERE id = $1", bin_id)
        return rows.bin_from_row(row) if row else None

    async def expired_bins(self, now: datetime, *, limit: int) -> list[str]:
        found = await self._fetch(
            "SELECT id FROM bins WHERE expires_at <= $1 AND NOT fixed ORDER BY expires_at LIMIT $2",
            now,
            limit,
        )
        return [row[0] for row in found]

    async def count_bins_by_creator(self, creator_ip: str, now: datetime) -> int:
        return await self._fetchval(
            "SELECT count(*) FROM bins WHERE creator_ip = $1 AND expires_at > $2", creator_ip, now
        )

    async def delete_bin(self, bin_id: str) -> bool:
        # Its requests, secrets, checks and jobs go with it (ON DELETE CASCADE).
        async with self._writing() as conn:
            deleted = await conn.fetchval("DELETE FROM bins WHERE id = $1 RETURNING 1", bin_id)
        return deleted is not None

    async def stored_bytes(self) -> int:
        # The per-bin counts: one row per bin to add up, however many requests there are.
        return await self._fetchval("SELECT COALESCE(sum(stored_bytes), 0)::bigint FROM bins")

    async def free_bytes(self, excess: int, *, limit: int) -> int:
        async with self._writing() as conn:
            # A row goes if the bytes before it, oldest first, do not yet cover the excess.
            picked = await conn.fetch(
                "SELECT id, bin_id FROM (SELECT id, bin_id, size, sum(size) OVER (ORDER BY id) AS running"
                f" FROM (SELECT id, bin_id, {STORED_SIZE} AS size FROM requests ORDER BY id LIMIT $1) AS o)"
                " AS t WHERE running - size < $2",
                limit,
                excess,
            )
            if not picked:
                return 0
            await _lock_bins(conn, {row[1] for row in picked})
            return await conn.fetchval(_delete_counted("id = ANY($1::bigint[])"), [row[0] for row in picked])

    # -- requests -------------------------------------------------------------------------

    async def get_request(self, bin_id: str, request_id: int) -> CapturedRequest | None:
        row = await self._fetchrow(
            f"{rows.REQUEST_SELECT} WHERE bin_id = $1 AND id = $2",
            bin_id,
            request_id,
        )
        return rows.request_from_row(row) if row else None

    async def get_summary(self, bin_id: str, request_id: int) -> RequestSummary | None:
        row = await self._fetchrow(
            f"{rows.SUMMARY_SELECT} WHERE r.bin_id = $1 AND r.id = $2", bin_id, request_id
        )
        return rows.summary_from_row(row) if row else None

    async def list_requests(
        self, bin_id: str, *, limit: int, before: int | None = None
    ) -> list[RequestSummary]:
        # Keyset paging on the (bin_id, id) index: a page costs the same however big the bin.
        found = await self._fetch(
            f"{rows.SUMMARY_SELECT} WHERE r.bin_id = $1 AND r.id < $2 ORDER BY r.id DESC LIMIT $3",
            bin_id,
            before if before is not None else 2**63 - 1,
            limit,
        )
        return [rows.summary_from_row(row) for row in found]

    async def requests_after(self, bin_id: str, *, after: int, limit: int) -> list[RequestSummary]:
        found = await self._fetch(
            f"{rows.SUMMARY_SELECT} WHERE r.bin_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3",
            bin_id,
            after,
            limit,
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
        select = rows.find_select("r.body" if query.needs_body else "''::bytea")

        async def fetch(low: int, high: int, newest_first: bool, n: int) -> list[Any]:
            order = "DESC" if newest_first else "ASC"
            return list(
                await self._fetch(
                    f"{select} WHERE r.bin_id = $1 AND r.id > $2 AND r.id < $3"
                    f" ORDER BY r.id {order} LIMIT $4",
                    bin_id,
                    low,
                    high,
                    n,
                )
            )

        return await scan_rows.find(fetch, query, limit=limit, before=before, after=after, scan=scan)

    async def count_requests(self, bin_id: str) -> int:
        return await self._fetchval("SELECT request_count FROM bins WHERE id = $1", bin_id) or 0

    async def queue_depths(self) -> dict[str, int]:
        row = await self._fetchrow(
            "SELECT (SELECT COUNT(*) FROM forward_jobs WHERE state = 'pending'),"
            " (SELECT COUNT(*) FROM check_jobs)"
        )
        forward, check = (int(row[0]), int(row[1])) if row else (0, 0)
        return {"commit": len(self._queue), "forward": forward, "check": check}

    async def delete_request(self, bin_id: str, request_id: int) -> bool:
        async with self._writing() as conn:
            await _lock_bins(conn, {bin_id})
            return await conn.fetchval(_delete_counted("bin_id = $1 AND id = $2"), bin_id, request_id) > 0

    async def clear_requests(self, bin_id: str) -> int:
        async with self._writing() as conn:
            await _lock_bins(conn, {bin_id})
            return await conn.fetchval(_delete_counted("bin_id = $1"), bin_id)

    # -- secrets --------------------------------------------------------------------------

    async def set_secret(self, bin_id: str, secret: BinSecret) -> None:
        async with self._writing() as conn:
            # The bin's row lock: no batch of its captures is half-committed while the cursor is set.
            row = await conn.fetchrow(
                "SELECT EXISTS (SELECT 1 FROM bin_secrets WHERE bin_id = $1) FROM bins WHERE id = $1"
                " FOR NO KEY UPDATE",
                bin_id,
            )
            if row is None:
                raise BinNotFound(bin_id)
            if not row[0]:
                # A bin's first secret: checks on arrival start after its newest capture.
                await conn.execute(
                    "UPDATE bins SET check_cursor = (SELECT COALESCE(max(id), 0) FROM requests"
                    " WHERE bin_id = $1) WHERE id = $1",
                    bin_id,
                )
            await conn.execute(
                f"INSERT INTO bin_secrets (bin_id, {rows.SECRET_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (bin_id, provider) DO UPDATE SET secret = excluded.secret,"
                " options = excluded.options, updated_at = excluded.updated_at",
                bin_id,
                secret.provider,
                secret.secret,
                msgspec.json.encode(secret.options).decode(),
                secret.updated_at,
            )

    async def get_secrets(self, bin_id: str) -> list[BinSecret]:
        found = await self._fetch(
            f"SELECT {rows.SECRET_COLUMNS} FROM bin_secrets WHERE bin_id = $1 ORDER BY provider", bin_id
        )
        return [rows.secret_from_row(row) for row in found]

    async def delete_secret(self, bin_id: str, provider: str) -> bool:
        async with self._writing() as conn:
            deleted = await conn.fetchval(
                "DELETE FROM bin_secrets WHERE bin_id = $1 AND provider = $2 RETURNING 1", bin_id, provider
            )
        return deleted is not None

    # -- auto-forward ---------------------------------------------------------------------

    async def set_forward_targets(self, bin_id: str, targets: list[str]) -> None:
        async with self._writing() as conn:
            # Lock first, then read the newest id in a new statement: a batch committing meanwhile
            # is then either wholly before the cursor or wholly after it.
            await _lock_bins(conn, {bin_id})
            # Turning forwarding on starts after the newest capture: old captures are replayed by hand.
            await conn.execute(
                "UPDATE bins SET forward_cursor = CASE WHEN forward_targets = '[]'"
                " THEN (SELECT COALESCE(max(id), 0) FROM requests WHERE bin_id = $1) ELSE forward_cursor END,"
                " forward_targets = $2 WHERE id = $1",
                bin_id,
                msgspec.json.encode(targets).decode(),
            )

    async def enqueue_forwards(
        self, *, now: datetime, max_pending: int, limit: int = 500
    ) -> list[ForwardJob]:
        async with self._writing() as conn:
            # Lock the forwarding bins that have new captures (sorted, like the writer): their
            # cursors move in this transaction, and no request of theirs can be deleted under the
            # jobs being made for it.
            locked = await conn.fetch(
                "SELECT b.id FROM bins AS b WHERE b.forward_targets <> '[]' AND EXISTS (SELECT 1 FROM"
                " requests AS r WHERE r.bin_id = b.id AND r.id > b.forward_cursor) ORDER BY b.id"
                " FOR NO KEY UPDATE"
            )
            if not locked:
                return []
            bin_ids = [row[0] for row in locked]
            new = await conn.fetch(
                "SELECT r.id, b.id, b.forward_targets FROM bins AS b CROSS JOIN LATERAL (SELECT id FROM"
                " requests WHERE requests.bin_id = b.id AND requests.id > b.forward_cursor ORDER BY id"
                " LIMIT $2) AS r WHERE b.id = ANY($1::text[]) AND b.forward_targets <> '[]'"
                " ORDER BY r.id LIMIT $2",
                bin_ids,
                limit,
            )
            pending = await conn.fetch(
                "SELECT bin_id, count(*) FROM forward_jobs WHERE state = 'pending'"
                " AND bin_id = ANY($1::text[]) GROUP BY bin_id",
                bin_ids,
            )
            jobs, cursors = forward_jobs_for(
                ((row[0], row[1], msgspec.json.decode(row[2])) for row in new),
                {row[0]: row[1] for row in pending},
                now=now,
                max_pending=max_pending,
            )
            # The jobs and the cursors that say they exist move together.
            await conn.execute(
                "INSERT INTO forward_jobs (request_id, target, bin_id, state, attempts, next_attempt_at,"
                " last_error, origin) SELECT r, t, b, s, 0, n, e, o FROM unnest($1::bigint[],"
                " $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[])"
                " AS j(r, t, b, s, n, e, o)"
                " ON CONFLICT (request_id, target) DO NOTHING",
                [j.request_id for j in jobs],
                [j.target for j in jobs],
                [j.bin_id for j in jobs],
                [j.state for j in jobs],
                [j.next_attempt_at for j in jobs],
                [j.last_error for j in jobs],
                [j.origin for j in jobs],
            )
            await _move_cursors(conn, "forward_cursor", cursors)
        return jobs

    async def claim_forward_jobs(
        self, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[ForwardJob]:
        until = now + timedelta(seconds=lease_seconds)
        async with self._writing() as conn:
            # SKIP LOCKED: a job another claimer is taking right now is left to it, not waited for;
            # one committed a moment ago is re-read (claimed_until is then in the future) and left too.
            found = await conn.fetch(
                "UPDATE forward_jobs AS f SET claimed_until = $1 FROM (SELECT request_id, target FROM"
                " forward_jobs WHERE state = 'pending' AND next_attempt_at <= $2"
                " AND (claimed_until IS NULL OR claimed_until <= $2)"
                " ORDER BY next_attempt_at, request_id LIMIT $3 FOR UPDATE SKIP LOCKED)"
                " AS due WHERE f.request_id = due.request_id AND f.target = due.target"
                f" RETURNING {_JOB_RETURNING}",
                until,
                now,
                limit,
            )
        jobs = [rows.job_from_row(row) for row in found]
        return sorted(jobs, key=lambda job: (job.next_attempt_at, job.request_id))

    async def next_forward_due(self) -> datetime | None:
        # A claimed job is due again when its claim runs out (a crashed delivery is retried then).
        return await self._fetchval(
            "SELECT min(greatest(next_attempt_at, COALESCE(claimed_until, next_attempt_at)))"
            " FROM forward_jobs WHERE state = 'pending'"
        )

    async def update_forward_job(self, job: ForwardJob) -> bool:
        async with self._writing() as conn:
            # claimed_until is the fencing token: a holder whose claim ran out saves nothing.
            saved = await conn.fetchval(
                "UPDATE forward_jobs SET state = $1, attempts = $2, next_attempt_at = $3, last_status = $4,"
                " last_error = $5, claimed_until = NULL WHERE request_id = $6 AND target = $7"
                " AND claimed_until IS NOT DISTINCT FROM $8 RETURNING 1",
                job.state,
                job.attempts,
                job.next_attempt_at,
                job.last_status,
                job.last_error,
                job.request_id,
                job.target,
                job.claimed_until,
            )
        return saved is not None

    async def take_forward_budget(self, origin: str, *, budget: int, now: datetime) -> bool:
        async with self._writing() as conn:
            taken = await conn.fetchval(
                "INSERT INTO forward_origins (origin, deliveries, last_at) VALUES ($1, 1, $2)"
                " ON CONFLICT (origin) DO UPDATE SET deliveries = forward_origins.deliveries + 1,"
                " last_at = $2"
                " WHERE forward_origins.deliveries < $3 RETURNING deliveries",
                origin,
                now,
                budget,
            )
        return taken is not None

    async def forget_forward_origins(self, *, before: datetime) -> int:
        async with self._writing() as conn:
            status = await conn.execute("DELETE FROM forward_origins WHERE last_at < $1", before)
        return _row_count(status)

    async def forward_jobs(self, bin_id: str, request_id: int) -> list[ForwardJob]:
        found = await self._fetch(
            f"SELECT {rows.JOB_COLUMNS} FROM forward_jobs WHERE bin_id = $1 AND request_id = $2"
            " ORDER BY target",
            bin_id,
            request_id,
        )
        return [rows.job_from_row(row) for row in found]

    async def add_attempt(self, attempt: Attempt) -> int:
        try:
            async with self._writing() as conn:
                attempt_id = await conn.fetchval(
                    "INSERT INTO attempts (request_id, bin_id, kind, target, started_at, status, error,"
                    " duration_ms, result) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9"
                    " WHERE EXISTS (SELECT 1 FROM requests WHERE id = $1) RETURNING id",
                    attempt.request_id,
                    attempt.bin_id,
                    attempt.kind,
                    attempt.target,
                    attempt.started_at,
                    attempt.status,
                    attempt.error,
                    attempt.duration_ms,
                    attempt.result,
                )
        except asyncpg.ForeignKeyViolationError:  # the capture was deleted while it was being sent
            return 0
        return attempt_id or 0

    async def list_attempts(self, bin_id: str, request_id: int) -> list[Attempt]:
        found = await self._fetch(
            f"SELECT {rows.ATTEMPT_COLUMNS} FROM attempts WHERE bin_id = $1 AND request_id = $2"
            " ORDER BY id DESC",
            bin_id,
            request_id,
        )
        return [rows.attempt_from_row(row) for row in found]

    # -- on-arrival signature checks ------------------------------------------------------

    async def record_check(self, request_id: int, check: SignatureCheck) -> None:
        try:
            async with self._writing() as conn:
                await _record_check(conn, request_id, check)
        except asyncpg.ForeignKeyViolationError:  # deleted while it was being checked: nothing to record
            pass

    async def enqueue_checks(self, *, limit: int = 500) -> int:
        async with self._writing() as conn:
            # As enqueue_forwards: the bins' row locks first, in order; cursors move with the jobs.
            locked = await conn.fetch(
                "SELECT b.id FROM bins AS b WHERE b.id IN (SELECT bin_id FROM bin_secrets) AND EXISTS"
                " (SELECT 1 FROM requests AS r WHERE r.bin_id = b.id AND r.id > b.check_cursor)"
                " ORDER BY b.id FOR NO KEY UPDATE"
            )
            if not locked:
                return 0
            new = await conn.fetch(
                "SELECT r.id, b.id, r.rejected IS NULL FROM bins AS b CROSS JOIN LATERAL (SELECT id, rejected"
                " FROM requests WHERE requests.bin_id = b.id AND requests.id > b.check_cursor ORDER BY id"
                " LIMIT $2) AS r WHERE b.id = ANY($1::text[]) ORDER BY r.id LIMIT $2",
                [row[0] for row in locked],
                limit,
            )
            # A rejected capture kept no body to check; the cursor moves past it all the same.
            checked = [(row[0], row[1]) for row in new if row[2]]
            await conn.execute(
                "INSERT INTO check_jobs (request_id, bin_id) SELECT * FROM unnest($1::bigint[], $2::text[])"
                " ON CONFLICT (request_id) DO NOTHING",
                [request_id for request_id, _ in checked],
                [bin_id for _, bin_id in checked],
            )
            cursors: dict[str, int] = {}
            for request_id, bin_id, _ in new:
                cursors[bin_id] = max(request_id, cursors.get(bin_id, 0))
            await _move_cursors(conn, "check_cursor", cursors)
        return len(checked)

    async def claim_check_jobs(self, *, now: datetime, lease_seconds: float, limit: int) -> list[CheckJob]:
        until = now + timedelta(seconds=lease_seconds)
        async with self._writing() as conn:
            found = await conn.fetch(
                "UPDATE check_jobs AS j SET claimed_until = $1 FROM (SELECT request_id FROM check_jobs"
                " WHERE claimed_until IS NULL OR claimed_until <= $2 ORDER BY request_id LIMIT $3"
                " FOR UPDATE SKIP LOCKED) AS due WHERE j.request_id = due.request_id"
                " RETURNING j.request_id, j.bin_id, j.claimed_until",
                until,
                now,
                limit,
            )
        return sorted((rows.check_job_from_row(row) for row in found), key=lambda job: job.request_id)

    async def complete_check_job(self, job: CheckJob, check: SignatureCheck | None) -> bool:
        async with self._writing() as conn:
            # The capture's row first (a deletion in flight is waited for), then its job: the order a
            # deletion takes them in (the job goes by cascade), so the two cannot deadlock.
            if (
                await conn.fetchval("SELECT 1 FROM requests WHERE id = $1 FOR KEY SHARE", job.request_id)
                is None
            ):
                return False
            done = await conn.fetchval(
                "DELETE FROM check_jobs WHERE request_id = $1 AND claimed_until IS NOT DISTINCT FROM $2"
                " RETURNING 1",
                job.request_id,
                job.claimed_until,
            )
            if done is None:  # the claim ran out and another worker holds the job now
                return False
            if check is not None:
                await _record_check(conn, job.request_id, check)
        return True

    # -- coordination ---------------------------------------------------------------------

    async def try_lease(self, name: str, holder: str, *, now: datetime, seconds: float) -> bool:
        async with self._writing() as conn:
            taken = await conn.fetchval(
                "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE"
                " SET holder = $2, until = $3 WHERE leases.holder = $2 OR leases.until <= $4 RETURNING 1",
                name,
                holder,
                now + timedelta(seconds=seconds),
                now,
            )
        return taken is not None

    # -- helpers --------------------------------------------------------------------------

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._connection() as conn:
            return await conn.fetch(sql, *args)

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self._connection() as conn:
            return await conn.fetchrow(sql, *args)

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        async with self._connection() as conn:
            return await conn.fetchval(sql, *args)


async def _lock_bins(conn: asyncpg.Connection, bin_ids: set[str]) -> set[str]:
    """Lock the bins' rows until the transaction ends, in id order (no deadlocks); the ids that exist.

    FOR NO KEY UPDATE: writers of the same bin queue up, while inserts that merely reference the
    bin (its secrets) do not wait.
    """
    found = await conn.fetch(
        "SELECT id FROM bins WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE", sorted(bin_ids)
    )
    return {row[0] for row in found}


async def _move_cursors(conn: asyncpg.Connection, column: str, cursors: dict[str, int]) -> None:
    await conn.execute(
        f"UPDATE bins SET {column} = c.cursor FROM unnest($1::text[], $2::bigint[]) AS c(id, cursor)"
        f" WHERE bins.id = c.id AND bins.{column} < c.cursor",
        list(cursors),
        list(cursors.values()),
    )


async def _record_check(conn: asyncpg.Connection, request_id: int, check: SignatureCheck) -> None:
    await conn.execute(
        "INSERT INTO signature_checks (request_id, provider, valid, reason, checked_at)"
        " SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM requests WHERE id = $1)"
        " ON CONFLICT (request_id) DO UPDATE SET provider = excluded.provider, valid = excluded.valid,"
        " reason = excluded.reason, checked_at = excluded.checked_at",
        request_id,
        check.provider,
        check.valid,
        check.reason,
        datetime.now(UTC),
    )


def _fail(batch: list[_Queued], exc: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)


def _statement_slices(requests: Sequence[CapturedRequest]) -> list[tuple[int, int]]:
    """Index ranges of `requests`, each small enough for one statement."""
    slices: list[tuple[int, int]] = []
    start, size = 0, 0
    for n, request in enumerate(requests):
        if n > start and (size + len(request.body) > _STATEMENT_BYTES or n - start >= _STATEMENT_ROWS):
            slices.append((start, n))
            start, size = n, 0
        size += len(request.body)
    slices.append((start, len(requests)))
    return slices


def _columns(ids: Sequence[int], requests: Sequence[CapturedRequest]) -> list[list[Any]]:
    """The arrays _INSERT_REQUESTS takes: one per column, in REQUEST_COLUMNS order after the id."""
    labelled = [rows.labels(r) for r in requests]
    return [
        list(ids),
        [r.bin_id for r in requests],
        [r.method for r in requests],
        [r.path for r in requests],
        [r.sub_path for r in requests],
        [r.query for r in requests],
        [msgspec.json.encode(r.headers).decode() for r in requests],
        [r.content_type for r in requests],
        [r.body_size for r in requests],
        [r.body_sha256 for r in requests],
        [r.client_ip for r in requests],
        [r.client_port for r in requests],
        [r.host for r in requests],
        [r.scheme for r in requests],
        [r.http_version for r in requests],
        [r.received_at for r in requests],
        [r.rejected for r in requests],
        [r.body for r in requests],
        *([label[i] for label in labelled] for i in range(3)),
    ]


def _bin_values(bin: Bin) -> tuple[Any, ...]:
    """A bin's values in BIN_COLUMNS order (a new bin's forward cursor is 0)."""
    return (
        bin.id,
        bin.created_at,
        bin.expires_at,
        msgspec.json.encode(bin.forward_targets).decode(),
        rows.encode_response(bin.response),
        bin.max_requests,
        bin.private,
        bin.owner_token_hash,
        bin.share_token_hash,
        bin.creator_ip,
        bin.fixed,
        0,
    )


def _placeholders(count: int) -> str:
    return ", ".join(f"${n}" for n in range(1, count + 1))


def _row_count(status: str) -> int:
    """The row count of a command tag such as 'DELETE 3'."""
    return int(status.rsplit(" ", 1)[-1])
