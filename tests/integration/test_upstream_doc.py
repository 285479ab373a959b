"""Every SQL example of docs/upstream.md, copied from the document, runs against the migrated schema."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from tests.support.nhn_sms import example_jpeg

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[2] / "docs" / "upstream.md"


def sql_blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text("utf-8"), re.DOTALL)


async def run_block(conn: asyncpg.Connection, sql: str) -> None:
    """A block with $n placeholders runs as one statement in a transaction (its BEGIN/COMMIT are the doc's)."""
    if "$1" not in sql:
        await conn.execute(sql)
        return
    statement = re.sub(r"^\s*(BEGIN|COMMIT);\s*$", "", sql, flags=re.MULTILINE).strip().rstrip(";")
    value = example_jpeg() if "attachments" in statement else 0
    async with conn.transaction():
        await conn.execute(statement, value)


async def drop_role(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_app') THEN"
        " DROP OWNED BY shop_app; DROP ROLE shop_app; END IF; END $$"
    )
    await conn.execute("SELECT pg_advisory_unlock(16016)")


async def test_every_sql_example_runs(db: asyncpg.Connection) -> None:
    """Each ```sql block of docs/upstream.md runs as written; the MMS examples create messages naming a picture."""
    blocks = sql_blocks()
    assert len(blocks) >= 12
    await db.execute("SELECT pg_advisory_lock(16016)")  # the example role is cluster-wide
    try:
        await db.execute("DROP ROLE IF EXISTS shop_app")
        for block in blocks:
            await run_block(db, block)
        mms = await db.fetch("SELECT extras FROM gateway.outbox WHERE extras ? 'attachments' ORDER BY id")
        assert len(mms) == 2 and mms[0]["extras"]["attachments"] == mms[1]["extras"]["attachments"]
        lms = await db.fetchval("SELECT extras ->> 'title' FROM gateway.outbox WHERE extras ->> 'type' = 'auto'")
        assert lms == "배송 안내"
        # the documented grants are enough: the picture examples run again as that role
        pictures = [b for b in blocks if "gateway.attachments" in b and "GRANT" not in b]
        assert len(pictures) == 2
        await db.execute("SET ROLE shop_app")
        try:
            for block in pictures:
                await run_block(db, block)
        finally:
            await db.execute("RESET ROLE")
        assert await db.fetchval("SELECT count(*) FROM gateway.outbox WHERE extras ? 'attachments'") == 4
    finally:
        await drop_role(db)


async def test_the_role_without_the_documented_grant_cannot_insert_pictures(db: asyncpg.Connection) -> None:
    """Without INSERT on gateway.attachments the role is refused: the documented grant is needed, not decoration."""
    await db.execute("SELECT pg_advisory_lock(16016)")
    try:
        await db.execute("DROP ROLE IF EXISTS shop_app")
        await db.execute(
            "CREATE ROLE shop_app NOLOGIN; GRANT USAGE ON SCHEMA gateway TO shop_app;"
            " GRANT INSERT ON gateway.outbox TO shop_app;"
        )
        picture = next(b for b in sql_blocks() if "VALUES ('coupon.jpg', $1)" in b)
        await db.execute("SET ROLE shop_app")
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await run_block(db, picture)
        finally:
            await db.execute("RESET ROLE")
    finally:
        await drop_role(db)
