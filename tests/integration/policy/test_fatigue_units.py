"""The fatigue cap counts what a recipient receives: an LMS/MMS once, an SMS once per segment."""

from __future__ import annotations

import asyncpg
import pytest

from gateway.policy.decision import ALLOW
from gateway.port import OutboundMessage
from tests.integration.policy.test_gate import NOW, gate_for, msg

pytestmark = pytest.mark.anyio


async def test_a_three_segment_sms_uses_three_of_the_cap_and_an_lms_one(pool: asyncpg.Pool) -> None:
    """max 3: after a 3-segment advertising SMS nothing more goes; after 3 LMS (1 each) the fourth is suppressed."""
    gate = await gate_for(pool, fatigue={"max_messages": 3})
    costs = {1: 3, 2: 1, 11: 1, 12: 1, 13: 1, 14: 1}

    def units(message: OutboundMessage) -> int:
        return costs[message.id]

    out = await gate.decide([(msg(1, campaign="a"), True), (msg(2, campaign="b"), True)], NOW, units=units)
    assert [v is ALLOW for _, v in out] == [True, False]
    assert out[1][1].reason == "fatigue"  # type: ignore[union-attr]
    other = "+821099998888"
    out = await gate.decide(
        [(msg(i, recipient=other, campaign=f"c{i}"), True) for i in (11, 12, 13, 14)], NOW, units=units
    )
    assert [v is ALLOW for _, v in out] == [True, True, True, False]
    rows = await pool.fetch("SELECT message_id, units FROM gateway.ad_sends ORDER BY message_id")
    assert [(r["message_id"], r["units"]) for r in rows] == [(1, 3), (11, 1), (12, 1), (13, 1)]


async def test_without_units_every_message_counts_one(pool: asyncpg.Pool) -> None:
    """A gate asked without units (no route known) counts one per message, as before."""
    gate = await gate_for(pool, fatigue={"max_messages": 2})
    out = await gate.decide([(msg(i, campaign=f"c{i}"), True) for i in (1, 2, 3)], NOW)
    assert [v is ALLOW for _, v in out] == [True, True, False]
