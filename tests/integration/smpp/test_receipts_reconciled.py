"""Issue 12, points 1 and 6, end to end: the daemon against the SMSC simulator over loopback, on PostgreSQL.

Receipts recognised by their content (esm_class 0, TLVs only) settle their
messages and never land in ``gateway.inbound``; receipts the SMSC lost are
recovered with ``query_sm`` at the receipt deadline; a submit accepted without
a message_id settles at once; receipt timeouts fire within a second.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import asyncpg
import pytest

from gateway.config import parse_config
from gateway.daemon import Daemon
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator

pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def daemon_on(db_url: str, sim: SmscSimulator, **connector: Any) -> AsyncIterator[Daemon]:
    """A daemon with one SMPP connector ``smsc`` bound to ``sim``; stopped on exit."""
    config = parse_config(
        {
            "http": {"enabled": False},
            "admin": {"enabled": False},
            "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
            "policy": {"quiet_hours": {"enabled": False}},
            "connectors": [
                {"type": "smpp", "name": "smsc", "port": sim.port, "system_id": "gw", "password": "pw", **connector}
            ],
        }
    )
    daemon = Daemon(config, database_url=db_url)
    async with anyio.create_task_group() as tg:
        await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
        with anyio.fail_after(10):
            while not daemon.connectors["smsc"].is_ready():
                await anyio.sleep(0.05)
        yield daemon
        daemon.stop()


async def enqueue(db: asyncpg.Connection, n: int, body: str = "Your code is 1234") -> None:
    for i in range(n):
        await db.execute(
            "INSERT INTO gateway.outbox (channel, sender, recipient, body) VALUES ('sms', '15880000', $1, $2)",
            f"+8210123456{i:02d}",
            body,
        )


async def wait_until(db: asyncpg.Connection, sql: str, expected: int, timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while await db.fetchval(sql) != expected:
            await anyio.sleep(0.05)


def sim_config(**kw: Any) -> SimulatorConfig:
    return SimulatorConfig(system_id="gw", password="pw", seed=12, **kw)


@pytest.mark.parametrize("receipt_format", ["both", "text", "tlv"])
async def test_receipts_with_esm_class_zero_settle_their_messages_and_are_not_inbound(
    db_url: str, db: asyncpg.Connection, receipt_format: str
) -> None:
    """An SMSC that marks receipts with esm_class 0 (Appendix B text and/or TLVs): messages end delivered
    (reason receipt), nothing is stored in gateway.inbound."""
    async with (
        SmscSimulator(sim_config(receipt_esm_class=0, receipt_format=receipt_format)) as sim,
        daemon_on(db_url, sim),
    ):
        await enqueue(db, 5)
        await wait_until(db, "SELECT count(*) FROM gateway.message_status WHERE state = 'delivered'", 5)
    assert sim.stats.receipts_acked == 5 and not sim.unacked_receipts
    assert await db.fetchval("SELECT count(*) FROM gateway.inbound") == 0
    rows = await db.fetch("SELECT state, reason FROM gateway.message_status")
    assert {(r["state"], r["reason"]) for r in rows} == {("delivered", "receipt")}


async def test_pinned_esm_class_rule_keeps_esm_class_zero_text_as_mo(db_url: str, db: asyncpg.Connection) -> None:
    """receipt_detection = "esm_class" pins the old rule: an MO text that looks like a receipt stays an MO."""
    text = "id:42 sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000"
    async with SmscSimulator(sim_config()) as sim, daemon_on(db_url, sim, receipt_detection="esm_class"):
        await sim.send_mo("+821012345678", "15880000", text)
        await wait_until(db, "SELECT count(*) FROM gateway.inbound", 1)
    assert await db.fetchval("SELECT body FROM gateway.inbound") == text


async def test_lost_receipts_are_recovered_with_query_sm_at_the_deadline(db_url: str, db: asyncpg.Connection) -> None:
    """An SMSC that never sends some receipts: at the receipt deadline query_sm asks it, and the real states
    settle the messages (reason receipt) instead of unknown."""
    config = sim_config(lose_receipt_every=2, outcomes={"DELIVRD": 1.0})
    async with SmscSimulator(config) as sim, daemon_on(db_url, sim, receipt_timeout_seconds=1.0):
        await enqueue(db, 6)
        await wait_until(db, "SELECT count(*) FROM gateway.message_status WHERE state = 'delivered'", 6, timeout=8)
    assert sim.stats.receipts_lost == 3
    assert sim.stats.queries >= 3 and sim.stats.queries_unknown == 0  # only query_sm knew three of them
    rows = await db.fetch("SELECT state, reason FROM gateway.message_status")
    assert {(r["state"], r["reason"]) for r in rows} == {("delivered", "receipt")}


async def test_query_sm_answers_failed_states_too(db_url: str, db: asyncpg.Connection) -> None:
    """query_sm reports what became of a message whatever it was: an undeliverable one settles undeliverable
    with the SMSC's error code."""
    config = sim_config(lose_receipt_every=1, outcomes={"UNDELIV": 1.0})
    async with SmscSimulator(config) as sim, daemon_on(db_url, sim, receipt_timeout_seconds=1.0):
        await enqueue(db, 2)
        await wait_until(db, "SELECT count(*) FROM gateway.message_status WHERE state = 'undeliverable'", 2, timeout=8)
    rows = await db.fetch("SELECT reason, code FROM gateway.message_status")
    assert {(r["reason"], r["code"]) for r in rows} == {("receipt", "001")}


async def test_receipt_timeout_fires_within_a_second_of_its_deadline(db_url: str, db: asyncpg.Connection) -> None:
    """With no receipt coming (none requested; query_sm finds nothing final), a message settles unknown
    (no_receipt) within a second of submitted_at + receipt_timeout_seconds, not at the next 30 s round."""
    timeout = 2.0
    async with (
        SmscSimulator(sim_config()) as sim,
        daemon_on(db_url, sim, receipt_timeout_seconds=timeout, registered_delivery=0),
    ):
        await enqueue(db, 1)
        await wait_until(db, "SELECT count(*) FROM gateway.message_status WHERE state = 'submitted'", 1)
        await anyio.sleep(0.5)  # the deadline loop has looked once already with nothing due
        await enqueue(db, 2)
        started = time.monotonic()
        await wait_until(db, "SELECT count(*) FROM gateway.message_status WHERE state = 'unknown'", 3, timeout=8)
        assert time.monotonic() - started < timeout + 1.5
    assert sim.stats.receipts_sent == 0 and sim.stats.queries == sim.stats.queries_unknown
    waited = await db.fetch(
        "SELECT extract(epoch FROM u.at - s.at)::float8 AS waited"
        " FROM gateway.events u JOIN gateway.events s ON s.message_id = u.message_id AND s.state = 'submitted'"
        " WHERE u.state = 'unknown' AND u.reason = 'no_receipt'"
    )
    assert len(waited) == 3
    assert all(timeout <= r["waited"] < timeout + 1.0 for r in waited), [r["waited"] for r in waited]


async def test_submit_accepted_without_message_id_settles_at_once(db_url: str, db: asyncpg.Connection) -> None:
    """A submit_sm_resp with an empty message_id settles the message at once as unknown (submitted_unconfirmed),
    while the others wait for their receipts as usual."""
    config = sim_config(empty_message_id_every=2)
    async with SmscSimulator(config) as sim, daemon_on(db_url, sim):
        await enqueue(db, 4)
        await wait_until(db, "SELECT count(*) FROM gateway.message_status WHERE state IN ('unknown', 'delivered')", 4)
    assert sim.stats.unconfirmed == 2
    rows = await db.fetch("SELECT state, reason, count(*) AS n FROM gateway.message_status GROUP BY 1, 2")
    assert {(r["state"], r["reason"]): r["n"] for r in rows} == {
        ("unknown", "submitted_unconfirmed"): 2,
        ("delivered", "receipt"): 2,
    }
