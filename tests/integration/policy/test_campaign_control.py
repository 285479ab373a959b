"""Campaign control through the SQL functions: hold, release, cancel, release held messages — with actors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from gateway.policy.config import PolicyConfig
from gateway.policy.decision import ALLOW, Defer, Hold, Suppress
from gateway.policy.gate import PolicyDbGate
from tests.support.policy import claim, enqueue, login_role

pytestmark = pytest.mark.anyio

NOON_SEOUL = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
NIGHT_SEOUL = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 22:00 in Seoul


async def gate(pool: asyncpg.Pool, **config) -> PolicyDbGate:
    g = PolicyDbGate(PolicyConfig.model_validate(config), pool)
    await g.refresh()
    return g


async def events(db: asyncpg.Connection, mid: int) -> list[tuple[str, str, str | None]]:
    rows = await db.fetch("SELECT state, reason, detail FROM gateway.events WHERE message_id = $1 ORDER BY id", mid)
    return [(r["state"], r["reason"], (r["detail"] or {}).get("actor")) for r in rows]


async def test_hold_parks_queued_and_deferred_messages_with_an_actor(db: asyncpg.Connection, pool) -> None:
    """campaign_hold parks the campaign's queued and deferred rows (not others), logs the action and its actor."""
    queued, later = await enqueue(
        db, {"campaign_id": "spring"}, {"campaign_id": "spring", "send_at": datetime.now(UTC) + timedelta(hours=1)}
    )
    other, = await enqueue(db, {"campaign_id": "autumn"})  # fmt: skip
    assert await db.fetchval("SELECT gateway.campaign_hold('spring', 'alice@marketing', 'wrong price')") == 2
    rows = {r["id"]: (r["state"], r["last_reason"]) for r in await db.fetch("SELECT * FROM gateway.outbox")}
    assert rows[queued] == rows[later] == ("deferred", "held_campaign")
    assert rows[other] == ("queued", None)
    assert await events(db, queued) == [("deferred", "held_campaign", "alice@marketing")]
    action = await db.fetchrow("SELECT action, campaign_id, actor, note, messages, db_user FROM gateway.policy_actions")
    assert dict(action) == {"action": "campaign_hold", "campaign_id": "spring", "actor": "alice@marketing",
                            "note": "wrong price", "messages": 2, "db_user": "postgres"}  # fmt: skip
    assert [m.id for m, _ in await claim(pool)] == [other]  # claims everywhere skip the held rows


async def test_a_message_inserted_after_the_hold_is_held_at_its_first_claim(db, pool) -> None:
    """The gate reads the campaign's control from the table at decide time: no window for a stale copy."""
    g = await gate(pool)  # its in-memory copy predates the hold
    await db.execute("SELECT gateway.campaign_hold('spring', 'ops')")
    await enqueue(db, {"campaign_id": "spring"})
    out = await g.decide(await claim(pool), NOON_SEOUL)
    assert [d for _, d in out] == [Hold("campaign")]


async def test_release_makes_held_messages_due_but_not_before_send_at(db, pool) -> None:
    """campaign_release: held rows become due now, or at their send_at if later; an event names the actor."""
    send_at = datetime.now(UTC) + timedelta(hours=2)
    now_id, later_id = await enqueue(db, {"campaign_id": "spring"}, {"campaign_id": "spring", "send_at": send_at})
    await db.execute("SELECT gateway.campaign_hold('spring', 'ops')")
    assert await db.fetchval("SELECT gateway.campaign_release('spring', 'bob')") == 2
    due = {r["id"]: r["due_at"] for r in await db.fetch("SELECT id, due_at FROM gateway.outbox")}
    assert due[now_id] <= datetime.now(UTC) + timedelta(seconds=5)
    assert due[later_id] == send_at
    assert (await events(db, now_id))[-1] == ("deferred", "campaign_released", "bob")
    assert await db.fetchval("SELECT count(*) FROM gateway.campaign_controls") == 0


async def test_cancel_suppresses_what_was_enqueued_before_it_only(db, pool) -> None:
    """campaign_cancel: earlier messages end suppressed (campaign_cancelled) at their claim; later ones are sent."""
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    before, deferred = await enqueue(db, {"campaign_id": "spring"}, {"campaign_id": "spring", "send_at": tomorrow})
    assert await db.fetchval("SELECT gateway.campaign_cancel('spring', 'carol')") == 2
    after, = await enqueue(db, {"campaign_id": "spring", "recipient": "+821099998888"})  # fmt: skip
    g = await gate(pool, dedupe={"enabled": False})
    out = await g.decide(await claim(pool), NOON_SEOUL)
    by_id = {m.id: d for m, d in out}
    assert by_id[before] == by_id[deferred] == Suppress("campaign_cancelled")
    assert by_id[after] == ALLOW
    assert ("queued", "campaign_cancelled", "carol") in await events(db, deferred)


async def test_cancel_never_touches_a_claimed_message(db, pool) -> None:
    """A row being sent keeps its lease; the claiming instance's last check suppresses it instead."""
    mid, = await enqueue(db, {"campaign_id": "spring"})  # fmt: skip
    g = await gate(pool)
    [(message, decision)] = await g.decide(await claim(pool), NOON_SEOUL)
    assert decision == ALLOW
    await db.execute("SELECT gateway.campaign_cancel('spring', 'carol')")
    row = await db.fetchrow("SELECT state, lease_owner FROM gateway.outbox WHERE id = $1", mid)
    assert (row["state"], row["lease_owner"]) == ("sending", "test#1")
    await g.refresh()  # what NOTIFY gateway_policy triggers in the daemon
    assert g.recheck(message, NOON_SEOUL) == Suppress("campaign_cancelled")


async def test_hold_reaches_messages_already_claimed_through_the_last_check(db, pool) -> None:
    """Held after the claim: the instance's last check holds the message instead of sending it."""
    await enqueue(db, {"campaign_id": "spring"})
    g = await gate(pool)
    [(message, _)] = await g.decide(await claim(pool), NOON_SEOUL)
    assert g.recheck(message, NOON_SEOUL) == ALLOW
    await db.execute("SELECT gateway.campaign_hold('spring', 'ops')")
    await g.refresh()
    assert g.recheck(message, NOON_SEOUL) == Hold("campaign")


async def test_release_held_turns_a_quiet_hours_hold_into_a_wait_for_the_window(db, pool) -> None:
    """on_quiet_hours = "hold": released messages wait for their next window instead of being held again."""
    mid, = await enqueue(db, {})  # fmt: skip
    g = await gate(pool, quiet_hours={"on_quiet_hours": "hold", "ramp_seconds": 0})
    [(_, decision)] = await g.decide(await claim(pool), NIGHT_SEOUL)
    assert isinstance(decision, Hold) and decision.reason == "quiet_hours"
    await db.execute(
        "UPDATE gateway.outbox SET state = 'deferred', last_reason = 'held_quiet_hours', lease_owner = NULL"
    )  # what the engine writes for a HOLD
    assert await db.fetchval("SELECT count(*) FROM gateway.held_messages") == 1
    assert await db.fetchval("SELECT gateway.release_held(p_ids => ARRAY[$1::bigint], p_actor => 'dave')", mid) == 1
    await db.execute("UPDATE gateway.outbox SET state = 'queued'")  # the promote job
    [(_, decision)] = await g.decide(await claim(pool), NIGHT_SEOUL)
    assert decision == Defer(until=datetime(2026, 11, 24, 23, 0, tzinfo=UTC))  # 08:00 in Seoul
    assert ("deferred", "hold_released", "dave") in await events(db, mid)


async def test_release_held_needs_a_target(db) -> None:
    """release_held without ids, campaign or p_all is refused, releasing nothing."""
    with pytest.raises(asyncpg.InvalidParameterValueError, match="give message ids"):
        await db.execute("SELECT gateway.release_held()")


async def test_campaign_functions_refuse_an_empty_campaign(db) -> None:
    """A hold with no campaign id fails clearly instead of matching rows without a campaign."""
    with pytest.raises(asyncpg.InvalidParameterValueError, match="campaign id is required"):
        await db.execute("SELECT gateway.campaign_hold('  ', 'ops')")


async def test_the_functions_are_not_callable_until_granted(db, db_url: str) -> None:
    """EXECUTE is revoked from PUBLIC: a role without the grant can neither act nor write the audit trail."""
    from gateway.db.pool import connect

    async with login_role(db, db_url, "gw_nogrant") as (role, url):
        await db.execute(f"GRANT USAGE ON SCHEMA gateway TO {role}")
        conn = await connect(url)
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("SELECT gateway.campaign_hold('spring', 'mallory')")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(
                    "SELECT gateway.policy_action_done('campaign_hold', 'spring', NULL, 'mallory', NULL, 0, false)"
                )
        finally:
            await conn.close()


async def test_actor_defaults_to_the_database_user(db) -> None:
    """Called without an actor, the action is the database user's."""
    await db.execute("SELECT gateway.campaign_hold('spring')")
    assert await db.fetchval("SELECT actor FROM gateway.policy_actions") == "postgres"


async def test_notify_reloads_the_controls_at_once(pool, db_url: str, db) -> None:
    """A hold notifies gateway_policy; a running gate reloads its controls without waiting for its period."""
    import anyio

    from gateway.queue.listener import Listener

    g = PolicyDbGate(PolicyConfig.model_validate({"opt_out_refresh_seconds": 60}), pool,
                     listen=Listener(db_url, "gateway_policy").run)  # fmt: skip
    async with anyio.create_task_group() as tg:
        await tg.start(g.run)
        await anyio.sleep(0.3)  # the listener connects
        await db.execute("SELECT gateway.campaign_hold('spring', 'ops')")
        with anyio.fail_after(5):
            while "spring" not in g.controls:
                await anyio.sleep(0.02)
        tg.cancel_scope.cancel()
    assert g.controls["spring"].held_by == "ops"
