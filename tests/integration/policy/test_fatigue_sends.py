"""Fatigue counts sends, shared exactly by instances; fallbacks take their original's slot and skip dedupe."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from gateway.policy.config import PolicyConfig
from gateway.policy.decision import ALLOW
from gateway.policy.gate import PolicyDbGate
from gateway.port import Fallback, MessageState, Receipt, ReceiptState
from gateway.queue.store import PgStore
from gateway.queue.transitions import Reschedule, Settle, WriteBatch
from tests.support.policy import claim, enqueue, verdicts

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # noon in Seoul
CAP3 = {"fatigue": {"max_messages": 3}}


async def gate(pool, **config) -> PolicyDbGate:
    g = PolicyDbGate(PolicyConfig.model_validate(config), pool)
    await g.refresh()
    return g


def store(pool, owner: str = "test#1") -> PgStore:
    return PgStore(pool, owner=owner)


def submitted(mid: int, cid: str | None = None, fallback: Fallback | None = None) -> Settle:
    return Settle(mid, MessageState.SUBMITTED, "sms", connector="c", carrier_ids=(cid or f"k{mid}",), fallback=fallback)


async def test_ads_the_gateway_refused_do_not_count(db, pool) -> None:
    """Three ads allowed then failed (too_long) leave the recipient's count at zero: the fourth is allowed."""
    await enqueue(db, *({"campaign_id": f"c{i}"} for i in range(4)))
    g = await gate(pool, **CAP3)
    first = await g.decide(await claim(pool, 3), NOW)
    assert verdicts(first) == [None, None, None]
    await store(pool).write(
        WriteBatch(settles=[Settle(m.id, MessageState.FAILED, "sms", "too_long") for m, _ in first])
    )
    assert verdicts(await g.decide(await claim(pool), NOW)) == [None]


async def test_a_submit_turns_the_reservation_into_a_send(db, pool) -> None:
    """The submit's transaction records the send; it keeps counting after the message left the outbox."""
    await enqueue(db, *({"campaign_id": f"c{i}"} for i in range(4)))
    g = await gate(pool, **CAP3)
    first = await g.decide(await claim(pool, 3), NOW)
    await store(pool).write(WriteBatch(settles=[submitted(m.id) for m, _ in first]))
    sent = await db.fetch("SELECT message_id, sent FROM gateway.ad_sends ORDER BY message_id")
    assert [(r["message_id"], r["sent"]) for r in sent] == [(m.id, True) for m, _ in first]
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox WHERE state = 'sending'") == 0
    assert verdicts(await g.decide(await claim(pool), NOW)) == ["fatigue"]


async def test_an_unknown_outcome_counts_as_a_send(db, pool) -> None:
    """An ad whose outcome is unknown may have reached the phone: it counts."""
    await enqueue(db, {"campaign_id": "a"}, {"campaign_id": "b"})
    g = await gate(pool, fatigue={"max_messages": 1})
    [(m, _)] = await g.decide(await claim(pool, 1), NOW)
    await store(pool).write(WriteBatch(settles=[Settle(m.id, MessageState.UNKNOWN, "sms", "outcome_unknown")]))
    assert verdicts(await g.decide(await claim(pool), NOW)) == ["fatigue"]


async def test_a_retried_ad_is_decided_again_against_the_sends_since(db, pool) -> None:
    """An ad deferred by throttling, claimed again after three others were sent, is capped: its slot lapsed."""
    first_id, *others = await enqueue(db, *({"campaign_id": f"c{i}"} for i in range(4)))
    g = await gate(pool, **CAP3)
    await g.decide(await claim(pool, 1), NOW)
    await store(pool).write(WriteBatch(reschedules=[Reschedule(first_id, 3600.0, "throttled", counts=False)]))
    assert verdicts(await g.decide(await claim(pool), NOW)) == [None, None, None]  # the others
    await store(pool).write(WriteBatch(settles=[submitted(mid) for mid in others]))
    await db.execute("UPDATE gateway.outbox SET state = 'queued' WHERE id = $1", first_id)  # due again
    assert verdicts(await g.decide(await claim(pool), NOW)) == ["fatigue"]


async def test_a_retry_within_the_cap_keeps_its_own_slot(db, pool) -> None:
    """Claimed again with room left, the same message is allowed and still holds one slot, not two."""
    mid, = await enqueue(db, {"campaign_id": "a"})  # fmt: skip
    g = await gate(pool, fatigue={"max_messages": 1})
    await g.decide(await claim(pool), NOW)
    await store(pool).write(WriteBatch(reschedules=[Reschedule(mid, 0.0, "transient_error")]))
    await db.execute("UPDATE gateway.outbox SET state = 'queued'")
    assert verdicts(await g.decide(await claim(pool), NOW)) == [None]
    assert await db.fetchval("SELECT count(*) FROM gateway.ad_sends") == 1


# --- fallbacks ------------------------------------------------------------------------------------

SMS_FALLBACK = Fallback("sms", "15880000", "(광고) 겨울 세일! 무료수신거부 080-123-4567")


async def _fallback_of_a_failed(db, pool, **row) -> tuple[int, int]:
    """An ad of campaign 'spring' refused by its connector with a fallback: the store enqueues the fallback."""
    original, = await enqueue(db, {"campaign_id": "spring", **row})  # fmt: skip
    await claim(pool)
    return original, await _fail_with_fallback(db, pool, original)


async def _fail_with_fallback(db, pool, original: int) -> int:
    s = store(pool)
    await s.write(WriteBatch(settles=[Settle(original, MessageState.FAILED, "sms", "rejected", fallback=SMS_FALLBACK)]))
    row = await db.fetchrow("SELECT id, idempotency_key, extras, campaign_id FROM gateway.outbox")
    assert (row["idempotency_key"], row["extras"]["fallback_of"], row["campaign_id"]) == (
        f"fallback:{original}",
        original,
        "spring",
    )
    return row["id"]


async def test_a_fallback_is_not_a_duplicate_of_its_original(db, pool) -> None:
    """The original holds the campaign's dedupe key; its fallback, same campaign and number, is not suppressed."""
    g = await gate(pool)
    await enqueue(db, {"campaign_id": "spring"})
    [(original, decision)] = await g.decide(await claim(pool), NOW)
    assert decision == ALLOW
    await _fail_with_fallback(db, pool, original.id)
    assert verdicts(await g.decide(await claim(pool), NOW)) == [None]


async def test_a_forged_fallback_is_still_deduplicated(db, pool) -> None:
    """extras.fallback_of set by an upstream row (not by the store) exempts nothing: duplicate."""
    g = await gate(pool)
    first, = await enqueue(db, {"campaign_id": "spring"})  # fmt: skip
    await g.decide(await claim(pool), NOW)
    await enqueue(db, {"campaign_id": "spring", "extras": {"fallback_of": first}})
    assert verdicts(await g.decide(await claim(pool), NOW)) == ["duplicate"]


async def test_the_fallback_of_a_sent_ad_takes_its_slot(db, pool) -> None:
    """An ad submitted, then undeliverable with a fallback: with the cap reached, its fallback still goes."""
    g = await gate(pool, **CAP3)
    ids = await enqueue(db, {"campaign_id": "spring"}, {"campaign_id": "b"}, {"campaign_id": "c"})
    await g.decide(await claim(pool), NOW)
    await store(pool).write(WriteBatch(settles=[submitted(ids[0], "kx", SMS_FALLBACK), submitted(ids[1]),
                                                submitted(ids[2])]))  # fmt: skip
    await store(pool).write(WriteBatch(receipts=[Receipt("c", "kx", ReceiptState.UNDELIVERABLE, fallback=True)]))
    [(fallback, decision)] = await g.decide(await claim(pool), NOW)
    assert fallback.extras["fallback_of"] == ids[0] and decision == ALLOW
    await enqueue(db, {"campaign_id": "d"})
    assert verdicts(await g.decide(await claim(pool), NOW)) == ["fatigue"]  # still three originals


async def test_the_fallback_of_an_unsent_ad_counts_against_other_campaigns(db, pool) -> None:
    """An ad refused before it went out has no slot: its fallback needs one, and other campaigns filled the cap."""
    g = await gate(pool, **CAP3)
    others = await enqueue(db, {"campaign_id": "b"}, {"campaign_id": "c"}, {"campaign_id": "d"})
    await g.decide(await claim(pool), NOW)
    await store(pool).write(WriteBatch(settles=[submitted(mid) for mid in others]))
    await _fallback_of_a_failed(db, pool, recipient="+821012345678")
    assert verdicts(await g.decide(await claim(pool), NOW)) == ["fatigue"]


async def test_reservations_of_settled_messages_stop_counting_without_a_write(db: asyncpg.Connection, pool) -> None:
    """A reservation whose message left the outbox unsent is still in the table but counts no more."""
    await enqueue(db, {"campaign_id": "a"}, {"campaign_id": "b"})
    g = await gate(pool, fatigue={"max_messages": 1})
    [(m, _)] = await g.decide(await claim(pool, 1), NOW)
    await store(pool).write(WriteBatch(settles=[Settle(m.id, MessageState.EXPIRED, "sms", "expired")]))
    assert await db.fetchval("SELECT count(*) FROM gateway.ad_sends WHERE NOT sent") == 1
    assert verdicts(await g.decide(await claim(pool), NOW)) == [None]


async def test_a_cap_full_of_ads_still_being_sent_makes_the_next_one_wait(db, pool) -> None:
    """Three ads in flight fill the cap only provisionally: the fourth is deferred (fatigue_pending), not suppressed."""
    await enqueue(db, *({"campaign_id": f"c{i}"} for i in range(4)))
    g = await gate(pool, **CAP3)
    out = await g.decide(await claim(pool), NOW)
    assert verdicts(out) == [None, None, None, "fatigue_pending"]
    await store(pool).write(WriteBatch(settles=[Settle(m.id, MessageState.FAILED, "sms", "too_long")
                                                for m, _ in out[:3]]))  # fmt: skip
    await store(pool).write(WriteBatch(reschedules=[Reschedule(out[3][0].id, 0.0, "fatigue_pending", counts=False)]))
    await db.execute("UPDATE gateway.outbox SET state = 'queued'")  # due again
    assert verdicts(await g.decide(await claim(pool), NOW)) == [None]
