"""Fault scenarios with the real daemon process, PostgreSQL and the SMSC simulator (small counts).

Each test runs one scenario of the fault harness (benchmarks.faults) and checks its ledger:
nothing lost, nothing stuck in flight, no receipt lost or left unacknowledged,
no failure caused by throttling, duplicates within window x binds per
disruption. The benchmark runs the same scenarios at full size.
"""

from __future__ import annotations

import pytest

from benchmarks import faults

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def assert_ledger(ledger) -> None:
    assert ledger.lost == 0, ledger
    assert ledger.stuck_in_flight == 0, ledger
    assert ledger.failed_throttling == 0, ledger
    assert ledger.receipts_unacked == 0, ledger
    assert ledger.receipts_lost == 0, ledger
    assert ledger.duplicates <= ledger.duplicates_bound, ledger
    assert ledger.ok


async def test_kill9_loses_nothing_and_bounds_duplicates(pg_server_url: str) -> None:
    """Two kill -9 while sending: every message final, every receipt stored, duplicates <= window x binds each."""
    ledger = await faults.run_scenario(
        "kill9", messages=1500, rate=1000, kills=2, database_url=pg_server_url, timeout=90
    )
    assert ledger.restarts == 2
    assert_ledger(ledger)


async def test_carrier_disconnects_stalls_and_nacks(pg_server_url: str) -> None:
    """Dropped connections, silent submits, generic_nack and server unbinds: all delivered in the end."""
    ledger = await faults.run_scenario("disconnect", messages=1500, rate=1000, database_url=pg_server_url, timeout=90)
    assert_ledger(ledger)


async def test_throttling_storm_fails_nothing(pg_server_url: str) -> None:
    """Every 3rd submit throttled, then queue-full: no message fails because of it."""
    ledger = await faults.run_scenario("throttle", messages=1500, rate=1000, database_url=pg_server_url, timeout=90)
    assert_ledger(ledger)


async def test_postgres_connections_killed_mid_run(pg_server_url: str) -> None:
    """pg_terminate_backend of the daemon's connections: it reconnects and loses nothing."""
    ledger = await faults.run_scenario("pgkill", messages=1500, rate=1000, database_url=pg_server_url, timeout=90)
    assert_ledger(ledger)


async def test_sigterm_under_load_then_restart(pg_server_url: str) -> None:
    """SIGTERM drains within the deadline and the restart sends no duplicate."""
    ledger = await faults.run_scenario("sigterm", messages=1500, rate=1000, database_url=pg_server_url, timeout=90)
    assert_ledger(ledger)
    assert ledger.duplicates == 0
