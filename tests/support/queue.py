"""Helpers shared by the queue tests: enqueue rows fast, run an engine in the background."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

from gateway.port import Connector
from gateway.queue.config import EngineConfig
from gateway.queue.engine import Engine, new_owner
from gateway.queue.listener import Listener
from gateway.queue.store import PgStore

COLUMNS = ("channel", "sender", "recipient", "body", "kind", "priority", "campaign_id", "consent", "extras")


async def copy_messages(conn: asyncpg.Connection, rows: Iterable[dict[str, Any]]) -> int:
    """COPY rows into the outbox (the fastest upstream path)."""
    records = []
    for r in rows:
        records.append(
            (
                r.get("channel", "sms"),
                r.get("sender", "1234"),
                r.get("recipient", "+821012345678"),
                r.get("body", "hello"),
                r.get("kind", "informational"),
                r.get("priority", 0),
                r.get("campaign_id"),
                r.get("consent"),
                r.get("extras", {}),
            )
        )
    await conn.copy_records_to_table("outbox", schema_name="gateway", records=records, columns=COLUMNS)
    return len(records)


async def states(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT state, count(*) AS n FROM gateway.message_status GROUP BY state")
    return {r["state"]: r["n"] for r in rows}


def pg_engine(
    pool: asyncpg.Pool,
    db_url: str,
    connectors: dict[str, Connector],
    *,
    config: EngineConfig = EngineConfig(),
    instance_name: str | None = None,
    default_region: str | None = "KR",
    **kw: Any,
) -> Engine:
    """An engine on PostgreSQL as the daemon builds it: its own run's store (national numbers read as
    ``default_region``, the daemon's default), LISTEN wake-ups."""
    store = PgStore(pool, owner=new_owner(instance_name), default_region=default_region)
    return Engine(store, connectors, config=config, listener=Listener(db_url, "gateway_outbox"), **kw)
