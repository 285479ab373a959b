"""After kill -9 the duplicate flag is precise (issue 12, point 4): the real daemon process, PostgreSQL and
the SMSC simulator.

The daemon claims far more rows than the SMSC's window holds (the simulator answers slowly), is killed
with SIGKILL and restarted on the same machine. The restarted run recovers the dead run's rows at once
(not after lease_seconds, which is 60 here); only the rows in the dead run's send journal (handed to
the carrier, or about to be) come back flagged may_be_duplicate, the others unflagged with their attempt
uncounted; and ``gateway status`` and ``gateway_recovery_messages_total`` tell what the recovery did.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

import asyncpg
import pytest

from benchmarks.faults import _feed
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from tests.support.daemon import free_port, get, run_cli, start, wait_http

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

WINDOW = 8
LEASE = 60.0


def _config(db_url: str, smsc_port: int, http_port: int, admin_port: int) -> str:
    return f"""
instance_name = "crashy"
[database]
url = "{db_url}"
[http]
port = {http_port}
[admin]
port = {admin_port}
[engine]
lease_seconds = {LEASE}
heartbeat_seconds = 0.5
claim_batch = 300
idle_poll_ms = 100
receipt_timeout_seconds = 0
[logging]
format = "json"
level = "info"
[[connectors]]
type = "smpp"
name = "smsc"
host = "127.0.0.1"
port = {smsc_port}
system_id = "crash"
password = "crashpw"
binds = 1
window = {WINDOW}
response_timeout_seconds = 5.0
reconnect_initial_seconds = 0.1
"""


async def test_after_kill9_only_what_may_have_reached_the_carrier_is_flagged(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """kill -9 with ~300 rows claimed and a window of 8 in flight: the restarted run requeues them within
    seconds (lease 60 s), flags at most the journaled ones (window + the journal's lead), requeues the rest
    unflagged with their attempt uncounted; status and metrics report the recovery's counts."""
    sim = SmscSimulator(SimulatorConfig(system_id="crash", password="crashpw", response_delay=0.25, seed=9))
    port = await sim.start()
    admin = free_port()
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(_config(db_url, port, free_port(), admin))
    daemon = start(cfg, log=tmp_path / "first.log")
    second = None
    try:
        await _feed(db_url, 400, 4000)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # sending, with most claimed rows not handed over yet
            submitted = await db.fetchval("SELECT count(*) FROM gateway.messages")
            leased = await db.fetchval("SELECT count(*) FROM gateway.outbox WHERE state = 'sending'")
            if submitted >= 16 and leased >= 100:
                break
            await asyncio.sleep(0.05)
        leased = await db.fetchval("SELECT count(*) FROM gateway.outbox WHERE state = 'sending'")
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        assert leased >= 100
        killed_at = time.monotonic()
        second = start(cfg, log=tmp_path / "second.log")
        while await db.fetchval("SELECT count(*) FROM gateway.events WHERE reason = 'lease_expired'") < leased:
            assert time.monotonic() - killed_at < 20, "the dead run's claims waited for its lease"
            await asyncio.sleep(0.1)
        while await db.fetchval("SELECT count(*) FROM gateway.messages WHERE state = 'delivered'") < 400:
            assert time.monotonic() - killed_at < 90
            await asyncio.sleep(0.2)
        wait_http(admin, "/healthz")
        _, metrics_text = get(f"http://127.0.0.1:{admin}/metrics")
        status = run_cli("status", "--config", str(cfg))
    finally:
        for proc in (daemon, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        await sim.stop()
    recovered = await db.fetch(
        "SELECT message_id, (detail->>'may_be_duplicate')::bool AS flagged FROM gateway.events "
        "WHERE reason = 'lease_expired'"
    )
    flagged = {r["message_id"] for r in recovered if r["flagged"]}
    unflagged = {r["message_id"] for r in recovered if not r["flagged"]}
    # handed over (the window), the one waiting inside send(), and the journal's lead (32 at most)
    assert 0 < len(flagged) <= WINDOW + 1 + 32, len(flagged)
    assert len(unflagged) >= len(recovered) - WINDOW - 1 - 32
    attempts = await db.fetch("SELECT attempts FROM gateway.messages WHERE id = ANY($1::bigint[])", list(unflagged))
    assert {r["attempts"] for r in attempts} == {1}  # never handed over: the crashed claim did not count
    # the real duplicates are among the flagged: every message the carrier accepted twice was flagged
    texts: dict[str, int] = {}
    for entry in sim.stats.accepted_log:
        texts[entry.text] = texts.get(entry.text, 0) + 1
    dup_markers = {t for t, n in texts.items() if n > 1}
    dup_ids = {
        r["id"]
        for r in await db.fetch("SELECT id FROM gateway.messages WHERE body = ANY($1::text[])", list(dup_markers))
    }
    assert dup_ids <= flagged
    record = await db.fetchval("SELECT recovery FROM gateway.instances WHERE recovery IS NOT NULL")
    assert record["requeued"] == len(recovered) and record["flagged"] == len(flagged)
    assert status.returncode == 0, status.stderr
    assert re.search(
        rf"recovered by crashy#\w+: {len(recovered)} requeued, {len(flagged)} of them flagged", status.stdout
    )
    flagged_metric = re.search(r'gateway_recovery_messages_total\{outcome="requeued_flagged"\} (\S+)', metrics_text)
    assert flagged_metric is not None and float(flagged_metric.group(1)) == len(flagged)
