"""What the store tests share: records to store, and scratch PostgreSQL databases and schemas."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from inspector.models import Bin, CapturedRequest

# The server the tests create their databases on (trust auth); `test` is a database that exists.
ADMIN_URL = os.environ.get("INSPECTOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def make_bin(bin_id: str = "bin-one", **changes: object) -> Bin:
    now = datetime.now(UTC)
    return Bin(**{"id": bin_id, "created_at": now, "expires_at": now + timedelta(days=1), **changes})


def make_request(bin_id: str = "bin-one", body: bytes = b"{}", **changes: object) -> CapturedRequest:
    fields: dict = {
        "bin_id": bin_id,
        "method": "POST",
        "path": f"/b/{bin_id}/x%2Fy",
        "sub_path": "/x%2Fy",
        "query": "a=1&a=2",
        "headers": [("host", "h"), ("x-a", "1"), ("x-b", "é\xff"), ("x-a", "2")],
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


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def with_schema(url: str, schema: str) -> str:
    """The URL of `url`'s database with `schema` first on the search path (asyncpg passes it on)."""
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A database of its own (inspector_test_<random>) for a test session, dropped at the end."""
    name = f"inspector_test_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def run(sql: str) -> None:
        # A thread of its own: the fixture may be set up while a test's event loop is running.
        with concurrent.futures.ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, admin(sql)).result()

    try:
        run(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {ADMIN_URL} is not usable: {exc}"
        if os.environ.get("CI"):  # CI starts PostgreSQL: there, a missing server is a failure
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield _with_database(ADMIN_URL, name)
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def fresh_schema(database_url: str) -> str:
    """A new empty schema in the database; the URL that puts it first on the search path."""
    schema = f"s_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return with_schema(database_url, schema)
