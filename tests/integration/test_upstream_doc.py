"""The SMS/LMS/MMS examples of docs/upstream.md run as written, also under the documented grants."""

from __future__ import annotations

import re

import asyncpg
import pytest

from gateway.db.pool import connect
from tests.support.docs import examples
from tests.support.nhn_sms import example_jpeg
from tests.support.policy import login_role

pytestmark = pytest.mark.anyio

UPSTREAM = examples("upstream.md")
MINE = ("lms-with-title", "mms-picture", "mms-earlier-picture")


async def run(conn: asyncpg.Connection, sql: str) -> None:
    """A block with $1 (the picture's bytes) runs as one statement in a transaction (its BEGIN/COMMIT are the doc's)."""
    if "$1" not in sql:
        await conn.execute(sql)
        return
    statement = re.sub(r"^\s*(BEGIN|COMMIT);\s*$", "", sql, flags=re.MULTILINE).strip().rstrip(";")
    async with conn.transaction():
        await conn.execute(statement, example_jpeg())


async def test_the_message_type_examples_run(db: asyncpg.Connection) -> None:
    """The LMS and both MMS examples insert what they say: a titled LMS, two MMS naming one picture."""
    assert set(MINE) <= set(UPSTREAM)
    for name in ("lms-with-title", "mms-picture", "mms-earlier-picture"):
        await run(db, UPSTREAM[name].text)
    rows = await db.fetch("SELECT extras FROM gateway.outbox ORDER BY id")
    assert rows[0]["extras"] == {"type": "auto", "title": "배송 안내"}
    assert rows[1]["extras"]["type"] == "mms" and rows[1]["extras"]["title"] == "쿠폰 도착"
    assert rows[1]["extras"]["attachments"] == rows[2]["extras"]["attachments"]
    assert await db.fetchval("SELECT count(*) FROM gateway.attachments") == 1


async def test_gateway_upstream_is_what_a_service_needs_for_pictures(db: asyncpg.Connection, db_url: str) -> None:
    """A login in gateway_upstream (as the doc says) inserts pictures and MMS; without the membership, it cannot."""
    async with login_role(db, db_url, "shop_app") as (role, url):
        conn = await connect(url)
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await run(conn, UPSTREAM["mms-picture"].text)
            await db.execute(f'GRANT gateway_upstream TO "{role}"')
            await run(conn, UPSTREAM["mms-picture"].text)
            await run(conn, UPSTREAM["mms-earlier-picture"].text)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the pictures themselves stay closed
                await conn.fetchval("SELECT data FROM gateway.attachments")
        finally:
            await conn.close()
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox WHERE extras ? 'attachments'") == 2
