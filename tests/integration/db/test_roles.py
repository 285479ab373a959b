"""gateway migrate and the two roles: as a database owner without superuser, and without CREATEROLE."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from gateway.db.migrate import apply_grants, migrate
from tests.support.policy import login_role

pytestmark = pytest.mark.anyio


async def test_a_database_owner_without_superuser_can_migrate(db: asyncpg.Connection, empty_db_url: str) -> None:
    """A managed PostgreSQL's owner role (no superuser, no CREATEROLE) migrates an empty database; the
    existing roles get their grants, and gateway_upstream can enqueue there."""
    admin = await asyncpg.connect(empty_db_url)
    async with login_role(db, empty_db_url, "gw_owner") as (owner, url):
        await admin.execute(f"ALTER DATABASE {url.rsplit('/', 1)[1]} OWNER TO {owner}")
        conn = await asyncpg.connect(url)
        try:
            assert await migrate(conn)
            assert await apply_grants(conn) == []  # both roles exist on this server: nothing to say
            upstream_may = await conn.fetchval(
                "SELECT has_function_privilege('gateway_upstream', 'gateway.enqueue(text, text, text, text, text, "
                "text, integer, timestamptz, timestamptz, text, boolean, jsonb)', 'EXECUTE')"
            )
            assert upstream_may
            assert not await conn.fetchval("SELECT has_table_privilege('gateway_upstream', 'gateway.outbox', 'SELECT')")
        finally:
            await conn.close()
            # the role's database and objects go back to the test's owner before the role is dropped
            await admin.execute(f"REASSIGN OWNED BY {owner} TO CURRENT_USER")
            await admin.close()


async def test_a_role_the_migrator_may_not_create_is_named_and_the_rest_granted(
    db: asyncpg.Connection, db_url: str
) -> None:
    """Without CREATEROLE a missing role is reported (what to create, and to run migrate again); with it, created."""
    missing = f"gateway_t{uuid.uuid4().hex[:8]}"
    await db.execute("INSERT INTO gateway.role_grants VALUES ($1, 'USAGE ON SCHEMA gateway')", missing)
    async with login_role(db, db_url, "gw_migrator") as (migrator, _):
        await db.execute(f"GRANT ALL ON SCHEMA gateway TO {migrator}")
        await db.execute(f"GRANT ALL ON gateway.role_grants TO {migrator}")
        await db.execute(f"GRANT EXECUTE ON FUNCTION gateway.apply_grants() TO {migrator}")
        tx = db.transaction()  # the migrator may only create roles here: the other grants are not its to give
        await tx.start()
        try:
            await db.execute("DELETE FROM gateway.role_grants WHERE role <> $1", missing)
            await db.execute(f"SET ROLE {migrator}")
            notes = await db.fetchval("SELECT gateway.apply_grants()")
        finally:
            await tx.rollback()
    assert notes == [
        f"role {missing} does not exist and {migrator} may not create roles: create it "
        f"(CREATE ROLE {missing} NOLOGIN) and run gateway migrate again"
    ]
    try:
        assert await apply_grants(db) == [f"created role {missing}"]
        assert await db.fetchval("SELECT has_schema_privilege($1, 'gateway', 'USAGE')", missing)
    finally:
        await db.execute(f"DROP OWNED BY {missing}")
        await db.execute(f"DROP ROLE {missing}")
