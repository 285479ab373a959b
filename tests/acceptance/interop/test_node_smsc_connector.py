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


@pytest.mark.parametrize("receipt_format", ["tlv", "text"])
async def test_node_receipts_with_esm_class_zero_are_receipts(start_node_smsc: Any, receipt_format: str) -> None:
    """node sends receipts with esm_class 0 (TLVs only, or text only): they come out as receipts, none as MO."""
    node = start_node_smsc(receipt_esm_class=0, receipt_format=receipt_format)
    sink = FakeSink()
    async with running(SmppConnector(config(node.port)), sink) as conn:
        sent = message("Hello node")
        await conn.send(sent)
        await wait_for(lambda: len(sink.results) == 1 and len(sink.receipts) == 1)
        acked = await node.wait_for_async(lambda e: e["event"] == "deliver_sm_resp")
    assert acked["command_status"] == 0
    assert [(r.carrier_id, r.state) for r in sink.receipts] == [
        (sink.result(sent.id).carrier_ids[0], ReceiptState.DELIVERED)
    ]
    assert sink.inbound == []


async def test_node_answers_query_sm_for_a_withheld_receipt(start_node_smsc: Any) -> None:
    """node never sends the receipt; query_receipts asks it with query_sm and reads its answer as the receipt."""
    from gateway.port import ReceiptQuery

    node = start_node_smsc(lose_receipts=True, stat="UNDELIV")
    sink = FakeSink()
    async with running(SmppConnector(config(node.port)), sink) as conn:
        sent = message("Hello node")
        await conn.send(sent)
        await wait_for(lambda: len(sink.results) == 1)
        (carrier_id,) = sink.result(sent.id).carrier_ids
        answers = await conn.query_receipts(
            [ReceiptQuery(sent.id, carrier_id, sent.sender), ReceiptQuery(sent.id, "999", sent.sender)]
        )
    assert answers is not None
    assert [(r.carrier_id, r.state, r.code) for r in answers] == [(carrier_id, ReceiptState.UNDELIVERABLE, "001")]
    # node prints each event as it answers; the thread reading its output may be a line behind us.
    await wait_for(lambda: len(node.events("query_sm")) >= 2)
    queries = node.events("query_sm")
    assert [(q["message_id"], q["source_addr"], q["known"]) for q in queries] == [
        (carrier_id, "ACME", True),
        ("999", "ACME", False),
    ]
    assert sink.receipts == []
