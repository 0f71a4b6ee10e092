"""The PostgreSQL schema: numbered migrations, each in one transaction, applied by one process at a time."""

from __future__ import annotations

import asyncpg
import structlog

from inspector.store import migrations
from inspector.store.base import SchemaTooNew

__all__ = ["SchemaTooNew", "migrate"]

log = structlog.get_logger(__name__)

# Session-level advisory lock held while migrating: processes that start together take turns, and
# the second finds the work done. (Keys of the store's other advisory locks use other first halves.)
MIGRATION_LOCK = (0x5745_4248, 0)


async def migrate(conn: asyncpg.Connection) -> int:
    """Bring the schema to the newest version this code knows; returns that version."""
    scripts = migrations.scripts("postgres")
    known = scripts[-1][0] if scripts else 0
    await conn.execute("SELECT pg_advisory_lock($1, $2)", *MIGRATION_LOCK)
    try:
        # Created only when missing: a database that is up to date needs no write to start on.
        if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
            await conn.execute(
                "CREATE TABLE schema_version (version integer NOT NULL, applied_at timestamptz"
                " NOT NULL DEFAULT now())"
            )
        current = await conn.fetchval("SELECT COALESCE(max(version), 0) FROM schema_version")
        if current > known:
            raise SchemaTooNew("PostgreSQL", current, known)
        for version, script in scripts:
            if version <= current:
                continue
            # One transaction per migration: a crash leaves the schema at a version, never between two.
            async with conn.transaction():
                await conn.execute(script)
                await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
            log.info("schema migrated", database="postgres", version=version)
        return known
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1, $2)", *MIGRATION_LOCK)
