"""The cluster-wide buckets in PostgreSQL: migration, grants, refill, give-back, holders."""

from __future__ import annotations

import anyio
import asyncpg
import pytest

from gateway.db.pool import create_pool
from gateway.errors import DatabaseError
from gateway.ratelimit import PgRateStore
from gateway.ratelimit.store import q

pytestmark = pytest.mark.anyio


async def test_migration_creates_the_rate_tables(db: asyncpg.Connection) -> None:
    """Migration 0002 creates the bucket and holder tables and the level function."""
    assert await db.fetchval("SELECT to_regclass('gateway.rate_buckets') IS NOT NULL")
    assert await db.fetchval("SELECT to_regclass('gateway.rate_holders') IS NOT NULL")
    assert await db.fetchval("SELECT gateway.rate_level(0, now() - interval '2 seconds', 10, 100, now())") == 20


def test_every_query_is_named_and_parsed() -> None:
    """The named queries the store uses all exist in queries.sql."""
    for name in ("take_tokens", "give_back_tokens", "heartbeat_holders", "forget_holder", "prune_holders"):
        assert q(name).strip()


async def test_a_new_bucket_starts_full_and_grants_at_most_its_burst(pool: asyncpg.Pool) -> None:
    """The first take grants min(want, burst); the next finds the bucket (nearly) empty."""
    store = PgRateStore(pool)
    assert await store.take([("k", 50.0, 0.001, 20.0)]) == {"k": 20.0}
    second = await store.take([("k", 5.0, 0.001, 20.0)])
    assert second["k"] < 0.01


async def test_concurrent_takers_never_get_more_than_the_bucket_holds(db_url: str) -> None:
    """Twenty concurrent takes of 5 from a bucket of 30 grant 30 in total, however they interleave."""
    pools = [await create_pool(db_url, min_size=1, max_size=1) for _ in range(4)]
    try:
        stores = [PgRateStore(p) for p in pools]
        grants: list[float] = []

        async def take(store: PgRateStore) -> None:
            result = await store.take([("shared", 5.0, 0.0001, 30.0), ("other", 1.0, 0.0001, 30.0)])
            grants.append(result["shared"])

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(take, stores[i % 4])
    finally:
        for p in pools:
            await p.close()
    assert sum(grants) == pytest.approx(30.0, abs=0.01)
    assert max(grants) <= 5.0


async def test_the_bucket_refills_on_the_server_clock_up_to_its_burst(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """One second after being emptied a 10/s bucket grants about 10; an hour later, no more than its burst."""
    store = PgRateStore(pool)
    await store.take([("r", 100.0, 10.0, 100.0)])  # empties it
    await db.execute(
        "UPDATE gateway.rate_buckets SET updated_at = updated_at - interval '1 second' WHERE limit_key = 'r'"
    )
    got = (await store.take([("r", 50.0, 10.0, 100.0)]))["r"]
    assert 10.0 <= got < 11.0
    await db.execute(
        "UPDATE gateway.rate_buckets SET updated_at = updated_at - interval '1 hour' WHERE limit_key = 'r'"
    )
    assert (await store.take([("r", 1_000.0, 10.0, 100.0)]))["r"] == pytest.approx(100.0)


async def test_given_back_tokens_return_to_the_bucket_capped_at_burst(pool: asyncpg.Pool) -> None:
    """Tokens given back at shutdown can be taken again, but never beyond the burst."""
    store = PgRateStore(pool)
    await store.take([("g", 20.0, 0.001, 20.0)])
    await store.give_back({"g": 7.0})
    assert (await store.take([("g", 20.0, 0.001, 20.0)]))["g"] == pytest.approx(7.0, abs=0.01)
    await store.give_back({"g": 500.0})
    assert (await store.take([("g", 50.0, 0.001, 20.0)]))["g"] == pytest.approx(20.0)


async def test_heartbeat_counts_live_holders_only(pool: asyncpg.Pool, db: asyncpg.Connection) -> None:
    """Holders seen within the liveness window count; a stale one does not; forget removes one."""
    store = PgRateStore(pool)
    assert await store.heartbeat("a", ["k1", "k2"], 5.0) == {"k1": 1, "k2": 1}
    await store.heartbeat("b", ["k1"], 5.0)
    assert await store.heartbeat("a", ["k1", "k2"], 5.0) == {"k1": 2, "k2": 1}
    await db.execute("UPDATE gateway.rate_holders SET seen_at = seen_at - interval '1 minute' WHERE instance = 'b'")
    assert await store.heartbeat("a", ["k1"], 5.0) == {"k1": 1}
    await store.prune(30.0)
    assert await db.fetchval("SELECT count(*) FROM gateway.rate_holders WHERE instance = 'b'") == 0
    await store.forget("a")
    assert await db.fetchval("SELECT count(*) FROM gateway.rate_holders") == 0


async def test_takes_over_the_same_keys_in_any_order_do_not_deadlock(db_url: str) -> None:
    """Two instances asking for [a, b] and [b, a] at once, many times, never deadlock."""
    pools = [await create_pool(db_url, min_size=1, max_size=1) for _ in range(2)]
    try:
        one, two = PgRateStore(pools[0]), PgRateStore(pools[1])

        async def hammer(store: PgRateStore, keys: list[str]) -> None:
            for _ in range(100):
                await store.take([(k, 1.0, 1_000.0, 10.0) for k in keys])

        async with anyio.create_task_group() as tg:
            tg.start_soon(hammer, one, ["a", "b", "c"])
            tg.start_soon(hammer, two, ["c", "b", "a"])
    finally:
        for p in pools:
            await p.close()


async def test_database_errors_are_translated(db_url: str) -> None:
    """A closed pool surfaces as DatabaseError, not an asyncpg exception."""
    pool = await create_pool(db_url, min_size=1, max_size=1)
    store = PgRateStore(pool)
    await pool.close()
    with pytest.raises(DatabaseError):
        await store.take([("k", 1.0, 1.0, 1.0)])
