"""The SMPP connector (binds, results, receipts, drain) against a third-party SMSC (node-smpp)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import structlog

from gateway.port import Outcome, ReceiptState
from gateway.smpp.connector import SmppConnector
from tests.support.smpp_connector import FakeSink, config, message, running, wait_for

if TYPE_CHECKING:
    from tests.interop.conftest import NodeSmsc

pytestmark = [pytest.mark.interop, pytest.mark.anyio]

LONG = "긴 메시지 " * 30  # UCS-2, three UDH parts


async def test_messages_and_receipts_round_trip(node_smsc: NodeSmsc) -> None:
    """Short and long messages are SUBMITTED under node's ids, and node's receipts match them."""
    sink = FakeSink()
    async with running(SmppConnector(config(node_smsc.port, binds=2)), sink, drain=True) as conn:
        short, long = message("Hello node"), message(LONG)
        await conn.send(short)
        await conn.send(long)
        await wait_for(lambda: len(sink.results) == 2 and len(sink.receipts) == 4)
    ids = set(sink.result(short.id).carrier_ids) | set(sink.result(long.id).carrier_ids)
    assert len(sink.result(long.id).carrier_ids) == 3
    assert {r.carrier_id for r in sink.receipts} == ids
    assert all(r.state is ReceiptState.DELIVERED for r in sink.receipts)
    submits = node_smsc.events("submit")
    assert [bool(s["udh"]) for s in submits].count(True) == 3
    await wait_for(lambda: len(node_smsc.events("unbind")) == 2)  # drain unbound both binds


async def test_throttle_from_node_is_throttled(start_node_smsc: Any) -> None:
    """node's ESME_RTHROTTLED gives THROTTLED with code 0x00000058 and calls the throttle listener."""
    node = start_node_smsc(throttle_every=2)
    sink = FakeSink()
    throttled: list[str] = []
    async with running(SmppConnector(config(node.port), throttle_listener=throttled.append), sink) as conn:
        for _ in range(2):
            await conn.send(message())
        await wait_for(lambda: len(sink.results) == 2)
    assert [(r.outcome, r.code) for r in sink.results] == [(Outcome.SUBMITTED, None), (Outcome.THROTTLED, "0x00000058")]
    assert throttled == ["ACME"]


async def test_node_dropping_the_socket_gives_unknown_and_a_new_bind(start_node_smsc: Any) -> None:
    """node destroys the socket on a submit: UNKNOWN for it, then the bind reconnects and sends again."""
    node = start_node_smsc(drop_after=1)
    sink = FakeSink()
    async with running(SmppConnector(config(node.port)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sink.results)
        await node.wait_for_async(lambda e: e["event"] == "bind" and e.get("session", 1) != 1)
        await wait_for(conn.is_ready)
    assert (sink.results[0].outcome, sink.results[0].reason) == (Outcome.UNKNOWN, "connection_lost")


async def test_wrong_password_is_refused_and_retried(start_node_smsc: Any) -> None:
    """node refuses our bind; the connector logs ESME_RINVPASWD and tries again."""
    node = start_node_smsc()
    sink = FakeSink()
    with structlog.testing.capture_logs() as logs:
        async with running(SmppConnector(config(node.port, password="nope")), sink, bound=False) as conn:
            await wait_for(lambda: sum(e["event"] == "smpp.bind.refused" for e in logs) >= 2)
            assert not conn.is_ready()
    assert {e["status"] for e in logs if e["event"] == "smpp.bind.refused"} == {"ESME_RINVPASWD"}
