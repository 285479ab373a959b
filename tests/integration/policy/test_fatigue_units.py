"""The fatigue cap counts what a recipient receives: an LMS/MMS once, an SMS once per segment."""

from __future__ import annotations

import asyncpg
import pytest

from gateway.policy.decision import Allow
from gateway.port import MessageState
from gateway.queue.store import PgStore
from gateway.queue.transitions import Settle, WriteBatch
from tests.integration.policy.test_gate import NOW, gate_for, msg

pytestmark = pytest.mark.anyio


async def submitted(pool: asyncpg.Pool, ids: list[int], segments: list[int]) -> None:
    """The store writes the submits (leased rows settled as submitted): the reservations become sends with
    their segments, in the same statement."""
    for mid in ids:
        await pool.execute(
            "INSERT INTO gateway.outbox (id, channel, sender, recipient, body, kind, state, lease_owner)"
            " OVERRIDING SYSTEM VALUE VALUES ($1, 'sms', '15880000', '+821012345678', 'x', 'advertising',"
            " 'sending', 'fatigue-test') ON CONFLICT DO NOTHING",
            mid,
        )
    settles = [
        Settle(
            mid,
            MessageState.SUBMITTED,
            "sms",
            connector="smsc",
            segments=n,
            carrier_ids=tuple(f"{mid}-{i}" for i in range(n)),
        )
        for mid, n in zip(ids, segments, strict=True)
    ]
    await PgStore(pool, owner="fatigue-test").write(WriteBatch(settles=settles))


async def test_a_three_segment_sms_fills_a_cap_of_three_and_lms_count_one(pool: asyncpg.Pool) -> None:
    """max 3: after a 3-segment ad SMS was sent nothing more goes; after 3 LMS (1 each) the fourth is suppressed."""
    gate = await gate_for(pool, fatigue={"max_messages": 3})
    (first,) = await gate.decide([(msg(1, campaign="a"), True)], NOW)
    assert isinstance(first[1], Allow)
    await submitted(pool, [1], [3])
    (second,) = await gate.decide([(msg(2, campaign="b"), True)], NOW)
    assert not isinstance(second[1], Allow) and second[1].reason == "fatigue"  # type: ignore[union-attr]
    other = "+821099998888"
    for i in (11, 12, 13):
        (d,) = await gate.decide([(msg(i, recipient=other, campaign=f"c{i}"), True)], NOW)
        assert isinstance(d[1], Allow)
        await submitted(pool, [i], [1])
    (fourth,) = await gate.decide([(msg(14, recipient=other, campaign="c14"), True)], NOW)
    assert not isinstance(fourth[1], Allow) and fourth[1].reason == "fatigue"  # type: ignore[union-attr]
    rows = await pool.fetch("SELECT message_id, units FROM gateway.ad_sends WHERE sent ORDER BY message_id")
    assert [(r["message_id"], r["units"]) for r in rows] == [(1, 3), (11, 1), (12, 1), (13, 1)]


async def test_two_segment_sends_fill_a_cap_of_four_after_two_messages(pool: asyncpg.Pool) -> None:
    """max 4: two 2-segment SMS fill it, where counting messages would have allowed two more."""
    gate = await gate_for(pool, fatigue={"max_messages": 4})
    for i in (1, 2):
        (d,) = await gate.decide([(msg(i, campaign=f"c{i}"), True)], NOW)
        assert isinstance(d[1], Allow)
        await submitted(pool, [i], [2])
    (third,) = await gate.decide([(msg(3, campaign="c3"), True)], NOW)
    assert not isinstance(third[1], Allow) and third[1].reason == "fatigue"  # type: ignore[union-attr]
