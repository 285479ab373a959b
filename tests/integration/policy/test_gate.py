"""The policy gate against PostgreSQL: shared dedupe and fatigue, opt-outs loaded from the table."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from gateway.policy.config import PolicyConfig
from gateway.policy.decision import ALLOW
from gateway.policy.gate import PolicyDbGate
from gateway.port import InboundMessage, OutboundMessage
from tests.support.policy import claim, enqueue, verdicts

pytestmark = pytest.mark.anyio

# A Tuesday 10:00 in Seoul: no quiet hours in the way.
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
AD_BODY = "(광고) 겨울 세일! 무료수신거부 080-123-4567"


def msg(
    i: int,
    *,
    recipient: str = "+821012345678",
    kind: str = "advertising",
    campaign: str | None = "c1",
    extras: dict | None = None,
    sender: str = "15880000",
) -> OutboundMessage:
    return OutboundMessage(
        id=i,
        channel="sms",
        sender=sender,
        recipient=recipient,
        body=AD_BODY if kind == "advertising" else "hello",
        kind=kind,
        campaign_id=campaign,
        extras=extras or {},
        created_at=NOW,
    )


async def gate_for(pool: asyncpg.Pool, **config) -> PolicyDbGate:
    gate = PolicyDbGate(PolicyConfig.model_validate(config), pool)
    await gate.refresh()
    return gate


async def test_second_copy_in_a_campaign_is_suppressed_as_duplicate(pool: asyncpg.Pool) -> None:
    """Two messages of one campaign to the same number: the second ends suppressed (duplicate)."""
    gate = await gate_for(pool, fatigue={"enabled": False})
    out = await gate.decide([(msg(1), True), (msg(2), True), (msg(3, campaign="c2"), True)], NOW)
    assert verdicts(out) == [None, "duplicate", None]


async def test_dedupe_by_contact_lets_two_contacts_share_a_number(pool: asyncpg.Pool) -> None:
    """With dedupe by contact, two contacts on one phone both get the message."""
    gate = await gate_for(pool, fatigue={"enabled": False})
    a = msg(1, extras={"dedupe": "contact", "contact_id": "alice"})
    b = msg(2, extras={"dedupe": "contact", "contact_id": "bob"})
    c = msg(3, extras={"dedupe": "contact", "contact_id": "alice"})
    out = await gate.decide([(a, True), (b, True), (c, True)], NOW)
    assert verdicts(out) == [None, None, "duplicate"]


async def test_a_retried_message_is_not_its_own_duplicate(pool: asyncpg.Pool) -> None:
    """The same message id claimed again (a retry) keeps its dedupe key and its fatigue slot."""
    gate = await gate_for(pool)
    first = await gate.decide([(msg(1), True)], NOW)
    again = await gate.decide([(msg(1), True)], NOW)
    assert first[0][1] == ALLOW and again[0][1] == ALLOW


async def test_fatigue_cap_counts_across_campaigns(pool: asyncpg.Pool) -> None:
    """Three ads to one number are allowed; the fourth waits (fatigue_pending) while the three may still fail."""
    gate = await gate_for(pool, fatigue={"max_messages": 3})
    batch = [(msg(i, campaign=f"camp{i}"), True) for i in range(1, 5)]
    out = await gate.decide(batch, NOW)
    assert verdicts(out) == [None, None, None, "fatigue_pending"]
    assert out[3][1].until == NOW + timedelta(seconds=30)
    other = await gate.decide([(msg(9, recipient="+821099999999", campaign="camp9"), True)], NOW)
    assert other[0][1] == ALLOW


async def test_fatigue_holds_across_concurrent_instances(pool: asyncpg.Pool, db_url: str, db) -> None:
    """Two instances each claiming three ads for one number and deciding at once let exactly the cap through."""
    from gateway.db.pool import create_pool

    await enqueue(db, *({"campaign_id": f"c{i}"} for i in range(6)))
    b1 = await claim(pool, 3, owner="one#1")
    b2 = await claim(pool, 3, owner="two#1")
    pool2 = await create_pool(db_url, min_size=1, max_size=2)
    try:
        g1 = await gate_for(pool, fatigue={"max_messages": 3})
        g2 = PolicyDbGate(PolicyConfig.model_validate({"fatigue": {"max_messages": 3}}), pool2)
        o1, o2 = await asyncio.gather(g1.decide(b1, NOW), g2.decide(b2, NOW))
    finally:
        await pool2.close()
    assert sorted(verdicts(o1 + o2), key=str) == [None, None, None, "fatigue_pending", "fatigue_pending",
                                                  "fatigue_pending"]  # fmt: skip


async def test_opt_outs_are_loaded_from_the_table(pool: asyncpg.Pool, db: asyncpg.Connection) -> None:
    """A number opted out by upstream SQL is suppressed for that sender only."""
    await db.execute("INSERT INTO gateway.opt_outs (scope, recipient) VALUES ('15880000', '+821012345678')")
    gate = await gate_for(pool)
    out = await gate.decide([(msg(1), True), (msg(2, sender="15889999", campaign="x"), True)], NOW)
    assert verdicts(out) == ["opted_out", None]


async def test_inbound_stop_opts_out_immediately(pool: asyncpg.Pool) -> None:
    """A STOP reply adds the sender to the opt-outs of the address it wrote to, at once."""
    gate = await gate_for(pool)
    found = gate.stop_keywords(
        [
            InboundMessage("smsc", "+821012345678", "15880000", " stop "),
            InboundMessage("smsc", "+821011111111", "15880000", "hello"),
        ]
    )
    assert found == [("15880000", "+821012345678", "inbound_stop")]
    out = await gate.decide([(msg(1), True)], NOW)
    assert out[0][1].reason == "opted_out"


async def test_allowed_message_carries_its_deadline(pool: asyncpg.Pool) -> None:
    """An allowed message comes back with its deadline (expires_at or max age) for the validity period."""
    gate = await gate_for(pool, expiry={"max_age_seconds": 3600})
    out = await gate.decide([(msg(1, kind="informational", campaign=None), None)], NOW)
    message, verdict = out[0]
    assert verdict == ALLOW
    assert message.deadline == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    assert message.allowed_until == message.deadline  # handed to a connector only before it
