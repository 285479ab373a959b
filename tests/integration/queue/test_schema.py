"""The upstream contract enforced by the database itself."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from gateway.db.migrate import available_migrations, migrate
from gateway.db.pool import connect

pytestmark = pytest.mark.anyio

INSERT = """
INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, idempotency_key, send_at, expires_at, extras)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, '{}'::jsonb))
RETURNING id, state
"""


async def test_migrate_twice_is_a_noop(empty_db_url: str) -> None:
    """Running migrate on an up-to-date schema applies nothing."""
    conn = await connect(empty_db_url)
    try:
        first = await migrate(conn)
        second = await migrate(conn)
    finally:
        await conn.close()
    assert [m.version for m in first] == [m.version for m in available_migrations()]
    assert second == []


async def test_concurrent_migrations_apply_once(empty_db_url: str) -> None:
    """Several instances migrating at once serialise on the lock and apply each file once."""
    conns = [await connect(empty_db_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        count = await conns[0].fetchval("SELECT count(*) FROM gateway.schema_migrations")
    finally:
        for c in conns:
            await c.close()
    assert sorted(len(r) for r in results) == [0, 0, len(available_migrations())]
    assert count == len(available_migrations())


@pytest.mark.parametrize(
    ("row", "constraint"),
    [
        (("sms", "1234", "+821012345678", "", "informational"), "outbox_body_not_empty"),
        (("fax", "1234", "+821012345678", "hi", "informational"), "outbox_channel_unknown"),
        (("sms", "1234", "+821012345678", "hi", "spam"), "outbox_kind_unknown"),
        (("sms", " ", "+821012345678", "hi", "informational"), "outbox_sender_empty"),
        (("sms", "1234", "", "hi", "informational"), "outbox_recipient_empty"),
    ],
)
async def test_bad_rows_are_refused_with_named_constraints(db: asyncpg.Connection, row: tuple, constraint: str) -> None:
    """The database refuses a bad row and the error names the violated rule."""
    with pytest.raises(asyncpg.CheckViolationError) as info:
        await db.fetchrow(INSERT, *row, None, None, None, None)
    assert info.value.constraint_name == constraint


async def test_expires_before_send_at_is_refused(db: asyncpg.Connection) -> None:
    """A message that would expire before its schedule is refused by name."""
    with pytest.raises(asyncpg.CheckViolationError) as info:
        await db.fetchrow(
            "INSERT INTO gateway.outbox (channel, sender, recipient, body, send_at, expires_at) "
            "VALUES ('sms', '1234', '+821012345678', 'hi', now() + interval '2 hours', now() + interval '1 hour')"
        )
    assert info.value.constraint_name == "outbox_expires_before_send_at"


async def test_extras_must_be_an_object(db: asyncpg.Connection) -> None:
    """Channel extras must be a JSON object, not a list or scalar."""
    with pytest.raises(asyncpg.CheckViolationError) as info:
        await db.fetchrow(
            "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras) "
            "VALUES ('sms', '1234', '+821012345678', 'hi', '[1,2]'::jsonb)"
        )
    assert info.value.constraint_name == "outbox_extras_not_object"


async def test_scheduled_row_starts_deferred(db: asyncpg.Connection) -> None:
    """A row with send_at in the future is deferred until then; one without is queued."""
    later = await db.fetchrow(
        "INSERT INTO gateway.outbox (channel, sender, recipient, body, send_at) "
        "VALUES ('sms', '1234', '+821012345678', 'hi', now() + interval '1 hour') RETURNING state, due_at, send_at"
    )
    now = await db.fetchrow(
        "INSERT INTO gateway.outbox (channel, sender, recipient, body) "
        "VALUES ('sms', '1234', '+821012345678', 'hi') RETURNING state"
    )
    assert later["state"] == "deferred" and later["due_at"] == later["send_at"]
    assert now["state"] == "queued"


async def test_duplicate_idempotency_key_inserts_nothing(db: asyncpg.Connection) -> None:
    """A second plain INSERT with the same key creates no second message."""
    sql = (
        "INSERT INTO gateway.outbox (channel, sender, recipient, body, idempotency_key) "
        "VALUES ('sms', '1234', '+821012345678', 'hi', 'order-42') RETURNING id"
    )
    first = await db.fetchval(sql)
    second = await db.fetchval(sql)
    assert first is not None and second is None
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox") == 1


async def test_enqueue_returns_existing_id_for_a_known_key(db: asyncpg.Connection) -> None:
    """gateway.enqueue() returns the first message's id when the key repeats."""
    a = await db.fetchval("SELECT gateway.enqueue('sms', '1234', '+821012345678', 'hi', p_idempotency_key => 'k1')")
    b = await db.fetchval("SELECT gateway.enqueue('sms', '1234', '+821012345678', 'hi', p_idempotency_key => 'k1')")
    assert a == b
    assert await db.fetchval("SELECT count(*) FROM gateway.message_status WHERE idempotency_key = 'k1'") == 1


async def test_idempotency_under_concurrent_inserts(db_url: str) -> None:
    """Twenty connections inserting the same key at once create exactly one message."""
    conns = [await connect(db_url) for _ in range(20)]
    try:
        ids = await asyncio.gather(
            *(
                c.fetchval("SELECT gateway.enqueue('sms', '1234', '+821012345678', 'hi', p_idempotency_key => 'race')")
                for c in conns
            )
        )
        count = await conns[0].fetchval("SELECT count(*) FROM gateway.outbox")
    finally:
        for c in conns:
            await c.close()
    assert len(set(ids)) == 1
    assert count == 1


async def test_key_survives_the_message_leaving_the_outbox(db: asyncpg.Connection) -> None:
    """Once the message moved to the log, the same key still inserts nothing."""
    await db.fetchval("SELECT gateway.enqueue('sms', '1234', '+821012345678', 'hi', p_idempotency_key => 'gone')")
    await db.execute("DELETE FROM gateway.outbox")
    again = await db.fetchval(
        "INSERT INTO gateway.outbox (channel, sender, recipient, body, idempotency_key) "
        "VALUES ('sms', '1234', '+821012345678', 'hi', 'gone') RETURNING id"
    )
    assert again is None


async def test_partitions_exist_for_today_and_ahead(db: asyncpg.Connection) -> None:
    """Migration creates daily partitions around today, and ensure_partitions adds more idempotently."""
    count_before = await db.fetchval(
        "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'messages'"
    )
    created = await db.fetchval("SELECT gateway.ensure_partitions(1, 7)")
    more = await db.fetchval("SELECT gateway.ensure_partitions(1, 8)")
    assert count_before >= 9  # default + yesterday .. today+7
    assert created == 0
    assert more == 3
