"""Store-level capture throughput, SQLite against PostgreSQL, on an empty and on a big database.

No HTTP: N concurrent senders call `add_request` (1 KiB bodies) on one store for a fixed time; each
call returns only once committed. The target bin is kept at its retention limit, so every commit
also deletes its oldest rows. "big" first loads --rows requests into other bins (straight SQL), to
show that nothing in a capture, in retention or in the stored-bytes count grows with the table.
Needs PostgreSQL (trust auth) at --admin-url; creates and drops its own database.

    python bench/store.py                       # 10 s per case, 2,000,000 rows for "big"
    python bench/store.py --seconds 5 --rows 500000
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from inspector.models import Bin, CapturedRequest
from inspector.store import Store
from inspector.store.postgres import PostgresStore
from inspector.store.sqlite import SQLiteStore


def request(bin_id: str) -> CapturedRequest:
    body = b"x" * 1024
    return CapturedRequest(
        bin_id=bin_id,
        method="POST",
        path=f"/b/{bin_id}",
        sub_path="",
        query="",
        headers=[("host", "h"), ("content-type", "application/json")],
        body=body,
        body_size=len(body),
        body_sha256=None,
        client_ip="127.0.0.1",
        client_port=1,
        host="h",
        scheme="http",
        http_version="1.1",
        received_at=datetime.now(UTC),
    )


async def measure(store: Store, *, senders: int, seconds: float) -> dict[str, float]:
    now = datetime.now(UTC)
    await store.create_bin(
        Bin(id="target", created_at=now, expires_at=now + timedelta(days=1), max_requests=1000)
    )
    for _ in range(1000):  # at its limit from the start: every later commit also trims
        await store.add_request(request("target"))
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def sender() -> None:
        while time.monotonic() < deadline:
            start = time.perf_counter()
            await store.add_request(request("target"))
            latencies.append(time.perf_counter() - start)

    began = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(senders)))
    elapsed = time.monotonic() - began
    start = time.perf_counter()
    await store.stored_bytes()
    stored_bytes_ms = (time.perf_counter() - start) * 1000
    assert await store.count_requests("target") == 1000
    latencies.sort()
    return {
        "req/s": len(latencies) / elapsed,
        "p50 ms": statistics.median(latencies) * 1000,
        "p99 ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "stored_bytes() ms": stored_bytes_ms,
    }


async def fill_postgres(url: str, rows: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO bins (id, created_at, expires_at, max_requests)"
            " SELECT 'filler-' || n, now(), now() + interval '1 day', 1000000"
            " FROM generate_series(1, 100) AS n"
        )
        await conn.execute(
            "INSERT INTO requests (bin_id, method, path, sub_path, query, headers, body_size, host, scheme,"
            " http_version, received_at, body) SELECT 'filler-' || (n % 100 + 1), 'POST', '/b/x', '', '',"
            " '[]', 1024, 'h', 'http', '1.1', now(), convert_to(repeat('y', 1024), 'UTF8')"
            " FROM generate_series(1, $1) AS n",
            rows,
        )
        await conn.execute(
            "UPDATE bins SET request_count = c.n, stored_bytes = c.b FROM (SELECT bin_id, count(*) AS n,"
            " sum(body_size) AS b FROM requests GROUP BY bin_id) AS c WHERE bins.id = c.bin_id"
        )
        # Steady state: the autovacuum that 2M fresh rows set off, and the checkpoint after them, done now.
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def fill_sqlite(path: Path, rows: int) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO bins (id, created_at, expires_at, max_requests) VALUES (?, ?, ?, 1000000)",
            [(f"filler-{n}", datetime.now(UTC).isoformat(), "2999-01-01T00:00:00+00:00") for n in range(100)],
        )
        conn.execute(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?)"
            " INSERT INTO requests (bin_id, method, path, sub_path, query, headers, body_size, host, scheme,"
            " http_version, received_at, body) SELECT 'filler-' || (n % 100), 'POST', '/b/x', '', '', '[]',"
            " 1024, 'h', 'http', '1.1', ?, zeroblob(1024) FROM s",
            (rows, datetime.now(UTC).isoformat()),
        )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    name = f"inspector_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(args.admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    pg_url = args.admin_url.rsplit("/", 1)[0] + f"/{name}"
    results: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for size in ("empty", "big"):
                for kind in ("sqlite", "postgres"):
                    if kind == "sqlite":
                        store: Store = SQLiteStore(Path(folder) / f"{size}.db")
                        await store.open()
                        if size == "big":  # filled while closed: the store counts ids from the file at open
                            await store.close()
                            await fill_sqlite(store.path, args.rows)
                            await store.open()
                    else:
                        schema = f"{size}_db"
                        conn = await asyncpg.connect(pg_url)
                        await conn.execute(f"CREATE SCHEMA {schema}")
                        await conn.close()
                        store = PostgresStore(f"{pg_url}?search_path={schema}")
                        await store.open()
                        if size == "big":
                            await fill_postgres(f"{pg_url}?search_path={schema}", args.rows)
                    try:
                        results[f"{kind} {size}"] = await measure(
                            store, senders=args.senders, seconds=args.seconds
                        )
                    finally:
                        await store.close()
                    print(
                        f"{kind:8} {size:5}", {k: round(v, 2) for k, v in results[f"{kind} {size}"].items()}
                    )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
