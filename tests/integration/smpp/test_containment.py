"""Containment of a broken SMSC (issue 12, point 5): the breaker, and generic_nacks that can never succeed.

Each test runs the real connector against the SMSC simulator over loopback, with
one of its broken personas: an SMSC that unbinds on every submit, one that never
answers submits, one that answers generic_nack to everything.
"""

from __future__ import annotations

import time

import anyio
import pytest
from prometheus_client import REGISTRY

from gateway.port import Outcome
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from gateway.smpp.connector import SmppConnector
from gateway.smpp.protocol.status import ESME_RINVCMDID
from tests.support.smpp_connector import FakeSink, config, message, running, wait_for

pytestmark = pytest.mark.anyio


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_smsc_that_unbinds_on_every_submit_trips_the_breaker_instead_of_forcing_a_bind_per_message() -> None:
    """20 messages to an SMSC that unbinds after each submit: the breaker holds the binds down, so
    far fewer than 20 binds are made in 4 s, and gateway_smpp_breaker_open{connector} says so."""
    name = "smsc-unbinder"
    before = _sample("gateway_smpp_breaker_trips_total", connector=name, cause="peer_unbind")
    async with SmscSimulator(SimulatorConfig(unbind_after=1, seed=1)) as sim:
        sink = FakeSink()
        cfg = config(sim.port, name=name, window=1, breaker_threshold=3, breaker_pause_seconds=1.0)
        async with running(SmppConnector(cfg), sink) as conn:
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(conn.send, message())
                await anyio.sleep(4.0)
                assert _sample("gateway_smpp_breaker_open", connector=name) == 1
                tg.cancel_scope.cancel()
        binds = sim.stats.binds
    # 3 short links trip it (1 s), one more trips it again (2 s), one more... without it: one bind per message
    assert binds <= 8, f"{binds} binds for 20 messages in 4 s"
    assert _sample("gateway_smpp_breaker_trips_total", connector=name, cause="peer_unbind") >= before + 2


async def test_consecutive_response_timeouts_pause_every_bind_and_rebind() -> None:
    """An SMSC that answers nothing: after `breaker_threshold` timeouts in a row nothing more is sent for
    the pause (messages wait), the bind is made again, and the gauge shows the breaker open."""
    name = "smsc-silent"
    async with SmscSimulator(SimulatorConfig(silent_every=1, seed=2)) as sim:
        sink = FakeSink()
        cfg = config(
            sim.port,
            name=name,
            window=3,
            response_timeout_seconds=0.3,
            breaker_threshold=3,
            breaker_pause_seconds=3.0,
        )
        async with running(SmppConnector(cfg), sink) as conn:
            async with anyio.create_task_group() as tg:
                for _ in range(9):
                    tg.start_soon(conn.send, message())
                await wait_for(lambda: len(sink.results) >= 3, timeout=5)
                tripped_at = time.monotonic()
                sent = sim.stats.submits_received
                assert sent == 3
                assert _sample("gateway_smpp_breaker_open", connector=name) == 1
                await anyio.sleep(1.5)
                assert sim.stats.submits_received == sent  # paused: the 6 others wait
                await wait_for(lambda: sim.stats.submits_received > sent, timeout=8)
                assert time.monotonic() - tripped_at >= 2.5
                assert sim.stats.binds >= 2  # rebound after the pause
                tg.cancel_scope.cancel()
    assert all(r.outcome is Outcome.UNKNOWN for r in sink.results)


async def test_generic_nacks_in_a_row_trip_the_breaker() -> None:
    """generic_nack (ESME_RSYSERR, retryable) to every submit: each message comes back RETRY, and after
    `breaker_threshold` of them the breaker trips on cause generic_nack."""
    name = "smsc-nacker"
    before = _sample("gateway_smpp_breaker_trips_total", connector=name, cause="generic_nack")
    async with SmscSimulator(SimulatorConfig(generic_nack_every=1, seed=3)) as sim:
        sink = FakeSink()
        cfg = config(sim.port, name=name, breaker_threshold=3, breaker_pause_seconds=1.0)
        async with running(SmppConnector(cfg), sink) as conn:
            for _ in range(4):
                await conn.send(message())
            await wait_for(lambda: len(sink.results) == 4, timeout=5)
            assert _sample("gateway_smpp_breaker_open", connector=name) == 1
    assert {r.outcome for r in sink.results} == {Outcome.RETRY}
    assert _sample("gateway_smpp_breaker_trips_total", connector=name, cause="generic_nack") == before + 1


async def test_generic_nack_esme_rinvcmdid_fails_the_message_at_once() -> None:
    """A generic_nack with ESME_RINVCMDID (the SMSC does not know the command) can never succeed: FAILED with
    that reason and code, not RETRY (which would send it again up to max_attempts times)."""
    async with SmscSimulator(SimulatorConfig(generic_nack_every=1, generic_nack_status=int(ESME_RINVCMDID))) as sim:
        sink = FakeSink()
        async with running(SmppConnector(config(sim.port, name="smsc-rinvcmdid")), sink) as conn:
            msg = message()
            await conn.send(msg)
            await wait_for(lambda: sink.results)
    result = sink.result(msg.id)
    assert result.outcome is Outcome.FAILED
    assert result.reason == "ESME_RINVCMDID"
    assert result.code == "0x00000003"
