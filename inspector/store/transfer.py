"""Moving a SQLite database into PostgreSQL: every bin, capture, secret, verdict and delivery, ids kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from inspector.store import postgres, rows
from inspector.store.postgres import PostgresStore
from inspector.store.sqlite import SQLiteStore

# In the order their foreign keys need. What is not here is transient and rebuilt by the servers:
# forward chains' budgets, leases, pending signature-check jobs, the health row.
TABLES = ("bins", "requests", "bin_secrets", "signature_checks", "forward_jobs", "attempts")
# Tables whose ids come from a sequence in PostgreSQL: it must go on past the highest id SQLite ever
# gave (deleted ones included), so that ids are never reused and live views' cursors stay valid.
SEQUENCED = ("requests", "attempts")
BATCH = 500


class TransferRefused(Exception):
    """The move cannot be made as asked (the target already holds data); nothing was written."""


async def sqlite_to_postgres(
    sqlite_path: Path, database_url: str, *, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy the SQLite database at `sqlite_path` into the (empty) PostgreSQL database; rows per table.

    Both are first opened as the server opens them: that brings both schemas to this version, and
    holds the SQLite file's lock, so no server writes to it during the copy. The copy is one
    PostgreSQL transaction: it lands whole or not at all.
    """
    if not sqlite_path.is_file():  # noqa: ASYNC240 - one stat, before anything starts
        raise FileNotFoundError(f"there is no SQLite database at {sqlite_path}")
    target = PostgresStore(database_url)
    await target.open()  # migrates
    await target.close()
    source = SQLiteStore(sqlite_path)
    await source.open()  # migrates, and holds the file's lock until the end
    copied: dict[str, int] = {}
    try:
        async with aiosqlite.connect(f"file:{sqlite_path}?mode=ro", uri=True) as db:
            conn = await asyncpg.connect(database_url)
            try:
                if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM bins)"):
                    raise TransferRefused(
                        "the PostgreSQL database already holds bins: move into an empty database"
                    )
                async with conn.transaction():
                    for table in TABLES:
                        copied[table] = await _copy(db, conn, table)
                        if progress:
                            progress(table, copied[table])
                    for table in SEQUENCED:
                        highest = await _highest_id(db, table)
                        await conn.execute(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1, $2)",
                            max(highest, 1),
                            highest > 0,
                        )
                    # PostgreSQL keeps per-bin counters that SQLite does not have.
                    await conn.execute(
                        "UPDATE bins SET request_count = c.n, stored_bytes = c.bytes FROM ("
                        f" SELECT bin_id, count(*) AS n, sum({postgres.STORED_SIZE}) AS bytes"
                        " FROM requests GROUP BY bin_id) AS c WHERE bins.id = c.bin_id"
                    )
            finally:
                await conn.close()
    finally:
        await source.close()
    return copied


async def _copy(db: aiosqlite.Connection, conn: asyncpg.Connection, table: str) -> int:
    """Copy one table's rows, column by name, converting SQLite's values to PostgreSQL's types."""
    types = {
        row["column_name"]: row["data_type"]
        for row in await conn.fetch(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1",
            table,
        )
    }
    async with db.execute(f"PRAGMA table_info({table})") as cursor:
        present = [row[1] async for row in cursor]
    homeless = [name for name in present if name not in types]
    if homeless:
        raise TransferRefused(f"{table}.{', '.join(homeless)} has no column to go to in PostgreSQL")
    columns = present
    converters = [_converter(types[name]) for name in columns]
    count = 0
    async with db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid") as cursor:
        while batch := await cursor.fetchmany(BATCH):
            records = list(_converted(batch, converters))
            await conn.copy_records_to_table(table, records=records, columns=columns)
            count += len(records)
    return count


def _converted(batch: Any, converters: list[Callable[[Any], Any]]) -> Iterator[tuple[Any, ...]]:
    for row in batch:
        yield tuple(
            value if value is None else convert(value) for convert, value in zip(converters, row, strict=True)
        )


def _converter(data_type: str) -> Callable[[Any], Any]:
    # SQLite keeps times as ISO 8601 text, flags as 0/1 and bodies as blobs.
    if data_type == "timestamp with time zone":
        return rows.timestamp
    if data_type == "boolean":
        return bool
    if data_type == "bytea":
        return bytes
    return lambda value: value


async def _highest_id(db: aiosqlite.Connection, table: str) -> int:
    """The highest id the table ever gave: AUTOINCREMENT remembers deleted ones in sqlite_sequence."""
    async with db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)) as cursor:
        row = await cursor.fetchone()
    async with db.execute(f"SELECT COALESCE(max(id), 0) FROM {table}") as cursor:
        highest = await cursor.fetchone()
    return max(int(row[0]) if row else 0, int(highest[0]) if highest else 0)
