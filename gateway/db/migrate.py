"""Apply the numbered ``.sql`` migrations in ``gateway/db/migrations`` (every package's schema).

Safe when several instances run it at once (a transaction-scoped advisory lock
serialises them) and a no-op when the schema is up to date, except for the
roles: every run ends with ``gateway.apply_grants()`` (migration 0013), which
creates ``gateway_upstream`` and ``gateway_daemon`` when the migrating role may
and grants them their privileges on the schema as it now is.

Never blocks upstream for long: a migration that alters a table waits for its
lock behind any open transaction on it, and every INSERT that comes after
waits behind the migration. So once the advisory lock is held, each statement
may wait at most ``lock_timeout`` seconds for a lock; past that the whole
migration is rolled back (nothing half-applied) and tried again after a pause,
``attempts`` times, then it fails with one line saying what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import anyio
import asyncpg
import structlog

from gateway.db.pool import DbConnection
from gateway.errors import DatabaseError

log = structlog.get_logger("gateway.migrate")

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x6761_7465  # "gate"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    folder = resources.files("gateway.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers in {versions}")
    return found


async def applied_versions(conn: DbConnection) -> set[int]:
    exists = await conn.fetchval("SELECT to_regclass('gateway.schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {r["version"] for r in await conn.fetch("SELECT version FROM gateway.schema_migrations")}


async def migrate(
    conn: DbConnection, *, lock_timeout: float | None = 2.0, attempts: int = 5, pause: float = 1.0
) -> list[Migration]:
    """Apply what is missing; return the migrations applied by this call (see the module docstring)."""
    for attempt in range(1, max(attempts, 1) + 1):
        try:
            return await _migrate_once(conn, lock_timeout)
        except asyncpg.exceptions.LockNotAvailableError as exc:
            if attempt >= attempts:
                raise DatabaseError(
                    f"migration gave up after {attempts} tries: a lock was not granted within "
                    f"{lock_timeout:g} s each time ({' '.join(str(exc).split())}); a long transaction holds a "
                    "table the migration alters: let it finish and run `gateway migrate` again"
                ) from exc
            log.warning("db.migrate.lock_timeout", attempt=attempt, lock_timeout=lock_timeout, retry_in=pause)
            await anyio.sleep(pause * attempt)
    raise AssertionError("unreachable")


async def _migrate_once(conn: DbConnection, lock_timeout: float | None) -> list[Migration]:
    applied: list[Migration] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        if lock_timeout is not None and lock_timeout > 0:
            await conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout * 1000)}")
        await conn.execute(
            """
            CREATE SCHEMA IF NOT EXISTS gateway;
            CREATE TABLE IF NOT EXISTS gateway.schema_migrations (
                version    integer PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """
        )
        done = await applied_versions(conn)
        for migration in available_migrations():
            if migration.version in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO gateway.schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            log.info("db.migration.applied", version=migration.version, name=migration.name)
            applied.append(migration)
        for note in await apply_grants(conn):
            if note.startswith("created"):
                log.info("db.roles.created", note=note)
            else:
                log.warning("db.roles.missing", note=note)
    return applied


async def apply_grants(conn: DbConnection) -> list[str]:
    """Create the two roles if allowed and grant their privileges; notes for the operator."""
    if not await conn.fetchval("SELECT to_regprocedure('gateway.apply_grants()') IS NOT NULL"):
        return []
    return list(await conn.fetchval("SELECT gateway.apply_grants()"))


async def pending_migrations(conn: DbConnection) -> list[Migration]:
    done = await applied_versions(conn)
    return [m for m in available_migrations() if m.version not in done]
