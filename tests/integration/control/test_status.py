"""`gateway status` and /status.json: each connector with its binds, state, window and errors; the queue
per connector and sender."""

from __future__ import annotations

import json

import anyio
import asyncpg
import pytest

from gateway.control import set_paused
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from tests.support.control import daemons, http, wait_for
from tests.support.daemon import config_dict, run_cli
from tests.support.queue import copy_messages

pytestmark = pytest.mark.anyio


async def test_status_shows_binds_and_routes_the_queue(db_url: str, db: asyncpg.Connection) -> None:
    """With a paused SMPP connector of 2 binds, status shows its binds, state and pause, and the waiting messages
    under that connector and their sender (not "-")."""
    await set_paused(db, "carrier", True, reason="testing status", who="test")
    async with SmscSimulator(SimulatorConfig()) as sim:
        smpp = [
            {
                "type": "smpp",
                "name": "carrier",
                "port": sim.port,
                "system_id": "gw",
                "binds": 2,
                "senders": ["15880000", "15881111"],
            }
        ]
        async with daemons(db_url, config_dict("status", smpp)) as (d,):
            await wait_for(lambda: sim.bound_now == 2, what="two binds")
            await copy_messages(db, [{"sender": "15880000", "body": f"m{i}"} for i in range(5)])
            await copy_messages(db, [{"sender": "15889999", "body": "from another"}])

            async def sampled() -> bool:
                return bool(await db.fetchval("SELECT sum(messages) = 6 FROM gateway.queue_depth"))

            await wait_for(sampled, timeout=10, what="a depth sample")
            await wait_for(lambda: d.plane is not None and d.plane.snapshots(), what="a status publication")
            await anyio.sleep(0.5)
            as_json = await anyio.to_thread.run_sync(lambda: run_cli("status", "--json", "--database-url", db_url))
            as_text = await anyio.to_thread.run_sync(lambda: run_cli("status", "--database-url", db_url))
            data, text = json.loads(as_json.stdout), as_text.stdout
            page_status, page = await http("GET", f"http://127.0.0.1:{d.admin_port}/status.json")
    assert as_json.returncode == 0 and as_text.returncode == 0 and page_status == 200
    (carrier,) = data["connectors"]
    assert carrier["connector"] == "carrier" and carrier["state"] == "paused"
    assert carrier["binds_up"] == 2 and carrier["binds_allowed"] == 2 and carrier["capacity"] == 128
    assert carrier["pause_reason"] == "testing status"
    queue = {(r["connector"], r["sender"], r["state"]): r["n"] for r in data["queue"]}
    assert queue == {("carrier", "15880000", "queued"): 5, ("carrier", "other", "queued"): 1}
    assert "carrier" in text and "paused" in text and "2/2" in text and "testing status" in text
    assert page["connectors"][0]["binds_up"] == 2


async def test_status_names_the_last_error(db_url: str) -> None:
    """A connector whose carrier refuses the bind shows as down with the refusal as its last error."""
    async with SmscSimulator(SimulatorConfig(password="right")) as sim:
        smpp = [
            {
                "type": "smpp",
                "name": "carrier",
                "port": sim.port,
                "system_id": "gw",
                "password": "wrong",
                "reconnect_initial_seconds": 0.2,
                "reconnect_max_seconds": 0.5,
            }
        ]
        async with daemons(db_url, config_dict("refused", smpp)) as (d,):
            url = f"http://127.0.0.1:{d.admin_port}/status.json"

            async def shown() -> bool:
                status, body = await http("GET", url)
                return status == 200 and bool(body["connectors"]) and bool(body["connectors"][0]["last_error"])

            await wait_for(shown, timeout=10, what="the error")
            _, body = await http("GET", url)
    (carrier,) = body["connectors"]
    assert carrier["state"] == "down" and carrier["binds_up"] == 0
    assert carrier["last_error"] == "bind refused: ESME_RINVPASWD"
