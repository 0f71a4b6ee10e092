"""`inspector backup`: a consistent copy of the SQLite database, safe to take while the server runs."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import click

from inspector.config import format_size
from inspector.store.base import SchemaTooNew
from inspector.store.sqlite import known_schema_version


class BackupFailed(Exception):
    """The backup could not be made; nothing was left at the destination."""


@dataclass(frozen=True)
class BackupInfo:
    """What a finished backup holds, as checked by reading it back."""

    path: Path
    size: int
    schema_version: int
    bins: int
    requests: int


def _read_only(path: Path) -> sqlite3.Connection:
    # mode=ro: a mistyped --db must not create an empty database, and the copy must never write
    # to the file the server is using. busy_timeout rides out the moments the writer checkpoints.
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def inspect(path: Path) -> BackupInfo:
    """Check a database file is whole (integrity_check) and say what it holds."""
    conn = _read_only(path)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupFailed(f"{path} is damaged: {'; '.join(problems[:5])}")
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        (bins,) = conn.execute("SELECT COUNT(*) FROM bins").fetchone()
        (requests,) = conn.execute("SELECT COUNT(*) FROM requests").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupFailed(f"{path} is not a Webhook Inspector database: {exc}") from None
    finally:
        conn.close()
    return BackupInfo(path, path.stat().st_size, version, bins, requests)


def backup(source: Path, destination: Path) -> BackupInfo:
    """Copy `source` to `destination` as one consistent snapshot, then read the copy back to check it.

    `VACUUM INTO` runs in one read transaction: in WAL mode it sees every commit made before it
    started, including those still in the -wal file (which a plain file copy loses), and the
    server's writer goes on committing meanwhile. The copy is written beside the destination and
    renamed into place only once checked and synced, so a crash never leaves a half backup under
    the final name.
    """
    if not source.is_file():
        raise BackupFailed(f"there is no database at {source} (give the server's --db or INSPECTOR_DB)")
    if destination.exists():
        raise BackupFailed(f"{destination} already exists: choose a new name, backups never overwrite")
    if not destination.parent.is_dir():
        raise BackupFailed(f"the folder {destination.parent} does not exist")
    if destination.resolve() == source.resolve():
        raise BackupFailed("the backup cannot be the database itself")
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        conn = _read_only(source)
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            conn.execute("VACUUM INTO ?", (str(partial),))
        except sqlite3.DatabaseError as exc:
            raise BackupFailed(f"could not copy {source}: {exc}") from None
        finally:
            conn.close()
        # SQLite does not sync what VACUUM INTO writes: do it before the name says "backup".
        _fsync(partial)
        info = inspect(partial)
        if info.schema_version != version:
            raise BackupFailed(f"the copy is at schema version {info.schema_version}, not {version}")
        os.replace(partial, destination)
        _fsync(destination.parent)
    finally:
        # Reading a copy back may leave -wal/-shm beside it; none of it may outlive the backup.
        for leftover in (partial, *(partial.with_name(partial.name + end) for end in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    return BackupInfo(destination, info.size, info.schema_version, info.bins, info.requests)


def run_backup(path: Path, source: Path, database_url: str | None) -> None:
    """`inspector backup PATH` (the click command is in cli.py): back up, say what was copied."""
    if database_url:
        raise click.UsageError(
            "the server keeps its data in PostgreSQL (INSPECTOR_DATABASE_URL): back it up with "
            "pg_dump, see docs/operations.md"
        )
    try:
        info = backup(source, path)
    except BackupFailed as exc:
        raise click.ClickException(str(exc)) from None
    known = known_schema_version()
    click.echo(
        f"backed up {source} to {info.path}: {info.bins} bins, {info.requests} requests, "
        f"{format_size(info.size)}, schema version {info.schema_version}"
    )
    if info.schema_version > known:
        # A valid copy all the same; saying so now saves a surprise at restore time.
        click.echo(f"note: {SchemaTooNew(str(source), info.schema_version, known)}", err=True)
