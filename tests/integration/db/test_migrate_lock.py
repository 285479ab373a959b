"""`gateway migrate` never holds up upstream INSERTs for long: it gives up a lock after lock_timeout."""

from __future__ import annotations

import importlib
import time

import anyio
import asyncpg
import pytest

from gateway.db.migrate import Migration, migrate
from gateway.db.pool import connect
from gateway.errors import DatabaseError

pytestmark = pytest.mark.anyio

migrate_module = importlib.import_module("gateway.db.migrate")  # gateway.db re-exports a function of that name

INSERT = "INSERT INTO gateway.outbox (channel, sender, recipient, body) VALUES ('sms', '1588', '+821012345678', 'x')"


async def test_a_blocked_migration_gives_up_and_lets_inserts_through(
    db_url: str, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a long upstream transaction, a migration altering the outbox waits at most lock_timeout per try,
    rolls back whole, and an INSERT arriving meanwhile waits no longer than that."""
    known = migrate_module.available_migrations()
    extra = Migration(9999, "test_alter_outbox", "ALTER TABLE gateway.outbox ADD COLUMN test_only integer;")
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: [*known, extra])
    holder = await connect(db_url)
    migrator = await connect(db_url)
    upstream = await connect(db_url)
    waits: list[float] = []
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute(INSERT)  # an upstream transaction that stays open (ROW EXCLUSIVE on the outbox)

        async def insert_meanwhile() -> None:
            for _ in range(3):
                await anyio.sleep(0.15)
                started = time.monotonic()
                await upstream.execute(INSERT)
                waits.append(time.monotonic() - started)

        async with anyio.create_task_group() as tg:
            tg.start_soon(insert_meanwhile)
            with pytest.raises(DatabaseError, match=r"gave up after 2 tries.*gateway migrate"):
                await migrate(migrator, lock_timeout=0.5, attempts=2, pause=0.1)
        await tx.rollback()
    finally:
        for conn in (holder, migrator, upstream):
            await conn.close()
    assert len(waits) == 3 and max(waits) < 1.5, waits
    assert not await db.fetchval(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'outbox' AND column_name = 'test_only'"
    )
    assert not await db.fetchval("SELECT count(*) FROM gateway.schema_migrations WHERE version = 9999")
