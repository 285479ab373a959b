"""Several `gateway run` processes against one PostgreSQL and one SMSC: limits and binds hold for the cluster."""

from __future__ import annotations

import bisect
import signal
from pathlib import Path

import anyio
import asyncpg
import pytest

from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from tests.support.daemon import daemon_config, running
from tests.support.queue import copy_messages

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# Small claims, so that every instance holds work at once (the instances start one after the other).
ENGINE = "claim_batch = 10\nmax_in_flight = 30"
# Neither [admin] nor [ratelimit.cluster]: the defaults, with any free admin port.
ENV = {"GATEWAY_ADMIN_PORT": "0"}


def worst_window(times: list[float], window: float) -> int:
    """The most events in any ``window`` seconds."""
    times = sorted(times)
    return max((bisect.bisect_right(times, t + window) - i for i, t in enumerate(times)), default=0)


async def wait_for(check, *, timeout: float, what: str, procs=()) -> None:  # type: ignore[no-untyped-def]
    with anyio.fail_after(timeout):
        while not await check():
            for p in procs:
                assert p.poll() is None, f"a daemon exited with {p.returncode} while waiting for {what}"
            await anyio.sleep(0.2)


async def live_instances(db: asyncpg.Connection) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM gateway.instances WHERE stopped_at IS NULL AND heartbeat_at > now() - interval '5 s'"
        )
    )


async def test_three_instances_with_default_settings_keep_the_carriers_limit(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """Three daemons, default settings, a 50/s connector limit: the carrier sees at most 50/s (+5 %) in any 5 s."""
    rate, n = 50, 600
    async with SmscSimulator(SimulatorConfig(system_id="gw", password="pw")) as sim:
        body = f"""
[[connectors]]
type = "smpp"
name = "carrier"
port = {sim.port}
system_id = "gw"
password = "pw"
window = 20
[ratelimit.connectors.carrier]
rate = {rate}
"""
        configs = [
            daemon_config(tmp_path, f"mi-{i}", db_url=db_url, admin_port=None, body=body).with_name(f"mi-{i}.toml")
            for i in range(3)
        ]
        for c in configs:
            c.write_text(c.read_text().replace("[engine]", f"[engine]\n{ENGINE}"))
        with running(*configs, env=ENV) as procs:

            async def ready() -> bool:
                return sim.stats.binds >= 3 and await live_instances(db) >= 3

            await wait_for(ready, timeout=60, what="three bound instances", procs=procs)
            await copy_messages(
                db, [{"sender": "15880000", "recipient": f"+8210{i:08d}", "body": f"m{i}"} for i in range(n)]
            )

            async def sent() -> bool:
                return sim.stats.submits_accepted >= n

            await wait_for(sent, timeout=90, what="every message at the carrier", procs=procs)
    senders = await db.fetchval("SELECT count(DISTINCT instance) FROM gateway.events WHERE state = 'submitted'")
    assert senders == 3, "all three instances must have sent, or the test proves nothing"
    times = [e.at for e in sim.stats.accepted_log]
    burst = rate / 10  # the default burst
    assert worst_window(times, 5.0) <= rate * 5 * 1.05 + burst
    span = max(times) - min(times)
    assert (len(times) - 1) / span <= rate * 1.05 + burst / span


async def test_binds_stay_within_the_accounts_allowance_across_instances(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """Three daemons of 2 binds each on an account allowing 4: never more than 4 binds, none refused, and the
    binds of an instance killed outright go to the others once its slots lapse."""
    allowance = 4
    async with SmscSimulator(SimulatorConfig(system_id="gw", password="pw", max_binds=allowance)) as sim:
        body = f"""
[control]
bind_lease_seconds = 6
[[connectors]]
type = "smpp"
name = "carrier"
port = {sim.port}
system_id = "gw"
password = "pw"
binds = 2
account_binds = {allowance}
"""
        configs = [daemon_config(tmp_path, f"bb-{i}", db_url=db_url, admin_port=None, body=body) for i in range(3)]
        with running(*configs, env=ENV) as procs:

            async def shared() -> bool:  # everyone gets a share: 1, 1 and 2 (the rest goes round by name)
                rows = await db.fetch("SELECT instance, count(*) AS n FROM gateway.bind_slots GROUP BY 1")
                return sorted(r["n"] for r in rows) == [1, 1, 2] and sim.bound_now == allowance

            await wait_for(shared, timeout=60, what="the allowance shared by the three", procs=procs)
            await copy_messages(db, [{"sender": "1588", "recipient": f"+8210{i:08d}"} for i in range(200)])

            async def delivered() -> bool:
                sql = "SELECT count(*) FROM gateway.message_status WHERE state = 'delivered'"
                return int(await db.fetchval(sql)) >= 200

            await wait_for(delivered, timeout=60, what="delivery", procs=procs)
            procs[0].send_signal(signal.SIGKILL)  # its binds drop with it; its slots lapse within 6 s

            async def taken_over() -> bool:
                return sim.bound_now == allowance and await live_instances(db) == 2

            await wait_for(taken_over, timeout=30, what="the survivors to take the freed binds", procs=procs[1:])
    assert sim.stats.peak_binds <= allowance
    assert sim.stats.bind_failures == 0
