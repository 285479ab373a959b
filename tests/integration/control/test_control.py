"""The operators' control surface with daemons in one process: pause, resume, rebind, readiness, pruning."""

from __future__ import annotations

import anyio
import asyncpg
import pytest

from gateway.cli import main
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from tests.support.control import daemons, http, wait_for
from tests.support.daemon import config_dict
from tests.support.queue import copy_messages

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-admin-token"
SLOW_LOOP = [{"type": "loopback", "name": "loop", "delay_ms": 20, "window": 5}]


def sent(daemon) -> int:  # type: ignore[no-untyped-def]
    return daemon.connectors["loop"].inner.sent


async def cli(*argv: str) -> int:
    return await anyio.to_thread.run_sync(main, list(argv))


async def test_a_pause_reaches_every_instance_and_survives_a_restart(db_url: str, db: asyncpg.Connection) -> None:
    """`gateway connector pause` stops the connector on both instances, a restarted instance starts paused, and
    a resume over the admin API starts both again."""
    await copy_messages(db, [{"body": f"m{i}"} for i in range(3000)])
    small = {"claim_batch": 10, "max_in_flight": 20}  # leave work queued for the instance started later
    a = config_dict("ctl-a", SLOW_LOOP, admin={"token": TOKEN}, engine=small)
    b = config_dict("ctl-b", SLOW_LOOP, engine=small)
    async with daemons(db_url, a, b) as (da, db_):
        await wait_for(lambda: sent(da) > 5 and sent(db_) > 5, what="both sending")
        assert await cli("connector", "pause", "loop", "--reason", "carrier maintenance", "--database-url", db_url) == 0
        await wait_for(lambda: da.connectors["loop"].paused and db_.connectors["loop"].paused, timeout=3)
        await anyio.sleep(0.3)  # what was already handed over finishes
        frozen = (sent(da), sent(db_))
        await anyio.sleep(1.0)
        assert (sent(da), sent(db_)) == frozen
        async with daemons(db_url, config_dict("ctl-c", SLOW_LOOP, engine=small)) as (dc,):
            assert dc.connectors["loop"].paused and dc.connectors["loop"].pause_reason == "carrier maintenance"
            await anyio.sleep(0.5)
            assert sent(dc) == 0
            status, body = await http(
                "POST",
                f"http://127.0.0.1:{da.admin_port}/admin/connectors/loop/resume",
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert status == 200 and body["paused"] is False
            await wait_for(lambda: sent(dc) > 5 and sent(db_) > frozen[1] + 5, timeout=5, what="all resumed")


async def test_the_admin_api_wants_its_token(db_url: str) -> None:
    """Without the bearer token the admin API answers 401, with no token configured 403, for no connector 404."""
    async with daemons(
        db_url, config_dict("tok", SLOW_LOOP, admin={"token": TOKEN}), config_dict("none", SLOW_LOOP)
    ) as (with_token, without):
        url = f"http://127.0.0.1:{with_token.admin_port}/admin/connectors"
        assert (await http("POST", f"{url}/loop/pause"))[0] == 401
        assert (await http("POST", f"{url}/loop/pause", headers={"Authorization": "Bearer guess"}))[0] == 401
        ok = {"Authorization": f"Bearer {TOKEN}"}
        assert (await http("POST", f"{url}/nope/pause", headers=ok))[0] == 404
        assert (await http("POST", f"{url}/loop/pause", headers=ok, json={"reason": 5}))[0] == 400
        assert (await http("POST", f"http://127.0.0.1:{without.admin_port}/admin/connectors/loop/pause"))[0] == 403
        assert not with_token.connectors["loop"].paused


async def test_readyz_names_the_connector_that_is_down(db_url: str) -> None:
    """One connector down and one healthy: the instance is ready, /readyz says which is down, and
    /readyz/<connector> answers for each."""
    down = {
        "type": "smpp",
        "name": "carrier",
        "port": 1,
        "system_id": "gw",
        "reconnect_initial_seconds": 0.2,
        "reconnect_max_seconds": 0.5,
    }
    async with daemons(db_url, config_dict("ready", [*SLOW_LOOP, down])) as (d,):
        base = f"http://127.0.0.1:{d.admin_port}"
        await wait_for(d.connectors["loop"].is_ready)
        status, body = await http("GET", f"{base}/readyz")
        assert status == 200, body
        assert body["connectors"]["loop"]["state"] == "ready"
        assert body["connectors"]["carrier"]["state"] == "down"
        assert "connect failed" in body["connectors"]["carrier"]["last_error"]
        assert (await http("GET", f"{base}/readyz/loop"))[0] == 200
        assert (await http("GET", f"{base}/readyz/carrier"))[0] == 503
        assert (await http("GET", f"{base}/readyz/nope"))[0] == 404


async def test_rebind_reconnects_every_bind_on_every_instance(db_url: str) -> None:
    """`gateway connector rebind` makes each instance unbind and bind again; sending goes on."""
    async with SmscSimulator(SimulatorConfig()) as sim:
        smpp = [{"type": "smpp", "name": "carrier", "port": sim.port, "system_id": "gw", "binds": 2}]
        async with daemons(db_url, config_dict("rb-a", smpp), config_dict("rb-b", smpp)) as ds:
            await wait_for(lambda: sim.bound_now == 4, what="four binds")
            binds = sim.stats.binds
            assert await cli("connector", "rebind", "carrier", "--database-url", db_url) == 0
            await wait_for(lambda: sim.stats.binds >= binds + 4 and sim.bound_now == 4, timeout=15, what="rebinds")
            assert sim.stats.unbinds_received >= 4
            assert all(d.connectors["carrier"].is_ready() for d in ds)


async def test_old_instance_rows_are_pruned(db_url: str, db: asyncpg.Connection) -> None:
    """Rows of instances stopped or silent for longer than the retention go; live ones stay."""
    await db.execute(
        "INSERT INTO gateway.instances (name, host, pid, version, started_at, heartbeat_at, stopped_at) VALUES "
        "('old#1', 'h', 1, '0', now() - interval '3 days', now() - interval '3 days', now() - interval '3 days'), "
        "('gone#2', 'h', 2, '0', now() - interval '2 days', now() - interval '2 days', NULL), "
        "('recent#3', 'h', 3, '0', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour')"
    )
    async with daemons(db_url, config_dict("prune", SLOW_LOOP, control={"instance_retention_seconds": 86400})):

        async def pruned() -> bool:
            names = {r["name"] for r in await db.fetch("SELECT name FROM gateway.instances")}
            return "old#1" not in names and "gone#2" not in names

        await wait_for(pruned, timeout=10, what="pruning")
        names = {r["name"].split("#")[0] for r in await db.fetch("SELECT name FROM gateway.instances")}
    assert names == {"recent", "prune"}
