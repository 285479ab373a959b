"""Opt-out by an inbound STOP reply, end to end: SMSC simulator -> deliver_sm -> daemon -> opt-out -> suppression."""

from __future__ import annotations

import anyio
import asyncpg
import pytest

from gateway.config import parse_config
from gateway.daemon import Daemon
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator

pytestmark = pytest.mark.anyio

AD = "(광고) 겨울 세일 50%! 무료수신거부 080-123-4567"


async def test_stop_reply_opts_the_number_out_of_that_sender(db_url: str, db: asyncpg.Connection) -> None:
    """After "STOP" from a number to 15880000, advertising from 15880000 to it is suppressed; other senders are not affected."""
    async with SmscSimulator(SimulatorConfig(system_id="gw", password="pw", seed=1)) as sim:
        config = parse_config(
            {
                "http": {"enabled": False},
                "admin": {"enabled": False},
                "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
                "policy": {"quiet_hours": {"enabled": False}, "opt_out_refresh_seconds": 0.2},
                "connectors": [
                    {
                        "type": "smpp",
                        "name": "smsc",
                        "port": sim.port,
                        "system_id": "gw",
                        "password": "pw",
                        "registered_delivery": 0,
                    }
                ],
            }
        )
        daemon = Daemon(config, database_url=db_url)
        async with anyio.create_task_group() as tg:
            await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
            with anyio.fail_after(10):
                while not daemon.connectors["smsc"].is_ready():
                    await anyio.sleep(0.05)
            await sim.send_mo("+821012345678", "15880000", "STOP")
            with anyio.fail_after(10):
                while not await db.fetchval("SELECT count(*) FROM gateway.opt_outs"):
                    await anyio.sleep(0.05)
            for sender, campaign in (("15880000", "a"), ("15889999", "b")):
                await db.execute(
                    "INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, campaign_id, consent) "
                    "VALUES ('sms', $1, '+821012345678', $2, 'advertising', $3, true)",
                    sender,
                    AD,
                    campaign,
                )
            with anyio.fail_after(10):
                while (
                    await db.fetchval(
                        "SELECT count(*) FROM gateway.message_status WHERE state IN ('suppressed', 'submitted')"
                    )
                    < 2
                ):
                    await anyio.sleep(0.05)
            daemon.stop()
    inbound = await db.fetchrow("SELECT sender, recipient, body FROM gateway.inbound")
    assert (inbound["sender"], inbound["recipient"], inbound["body"]) == ("+821012345678", "15880000", "STOP")
    opt = await db.fetchrow("SELECT scope, recipient, source FROM gateway.opt_outs")
    assert (opt["scope"], opt["recipient"], opt["source"]) == ("15880000", "+821012345678", "inbound_stop")
    rows = {
        r["sender"]: (r["state"], r["reason"])
        for r in await db.fetch("SELECT sender, state, reason FROM gateway.message_status")
    }
    assert rows["15880000"] == ("suppressed", "opted_out")
    assert rows["15889999"][0] == "submitted"
