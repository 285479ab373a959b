"""Our SMPP session against a third-party SMSC (node-smpp), PDU by PDU through the raw test client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gateway.smpp.protocol.concat import build_segments
from gateway.smpp.protocol.pdu import EnquireLink, SubmitSm
from gateway.smpp.protocol.receipts import DeliveryState, IdSide, normalise_message_id
from gateway.smpp.protocol.status import ESME_RBINDFAIL, ESME_RINVPASWD, ESME_ROK, ESME_RTHROTTLED
from gateway.smpp.protocol.text import Encoding, encode
from gateway.smpp.protocol.tlv import MessageState, Tag, Tlvs
from tests.support.smpp_client import BindRefused, raw_client, receipt_of

if TYPE_CHECKING:
    from tests.interop.conftest import NodeSmsc

pytestmark = [pytest.mark.interop, pytest.mark.anyio]


def sm(short_message: bytes, *, data_coding: int = 0, esm_class: int = 0, **fields: Any) -> SubmitSm:
    return SubmitSm(
        source_addr="1234",
        destination_addr="821012345678",
        data_coding=data_coding,
        esm_class=esm_class,
        short_message=short_message,
        **fields,
    )


@pytest.mark.parametrize("mode", ["transceiver", "transmitter", "receiver"])
async def test_bind_is_accepted(node_smsc: NodeSmsc, mode: str) -> None:
    """node-smpp accepts each of our bind PDUs with the right credentials and answers status 0."""
    async with raw_client(node_smsc.port, node_smsc.system_id, node_smsc.password) as c:
        resp = await c.bind(mode)
    assert resp.command_status == ESME_ROK and resp.system_id == "NODESMSC"  # type: ignore[attr-defined]
    event = await node_smsc.wait_for_async(lambda e: e["event"] == "bind")
    assert (event["command"], event["system_id"]) == (f"bind_{mode}", "gateway")


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [
        ("gateway", "wrong", ESME_RINVPASWD),
        ("intruder", "secret", ESME_RBINDFAIL),
    ],
)
async def test_bind_refused_then_closed(node_smsc: NodeSmsc, system_id: str, password: str, status: int) -> None:
    """Wrong credentials: our session reads node's error bind_resp (header only), then sees the close."""
    async with raw_client(node_smsc.port, system_id, password) as c:
        with pytest.raises(BindRefused) as refused:
            await c.bind()
        assert refused.value.response.command_status == status
        await c.wait_closed(5.0)


async def test_short_gsm_submit_reaches_node_byte_for_byte(node_smsc: NodeSmsc) -> None:
    """A GSM 7-bit submit_sm is answered with node's id and node decodes exactly our octets and fields."""
    payload = encode("Hello {world} 100€", Encoding.GSM7)
    async with raw_client(node_smsc.port, "gateway", "secret") as c:
        await c.bind()
        resp = await c.submit(sm(payload))
    assert resp.command_status == ESME_ROK and resp.message_id == "1"  # type: ignore[attr-defined]
    event = await node_smsc.wait_for_async(lambda e: e["event"] == "submit")
    assert bytes.fromhex(event["short_message"]) == payload
    assert (event["source_addr"], event["destination_addr"], event["data_coding"], event["esm_class"]) == (
        "1234",
        "821012345678",
        0,
        0,
    )


async def test_ucs2_submit_reaches_node_byte_for_byte(node_smsc: NodeSmsc) -> None:
    """A UCS-2 (data_coding 8) Korean submit_sm arrives with the same octets and data_coding."""
    payload = encode("안녕하세요, 인증번호는 1234", Encoding.UCS2)
    async with raw_client(node_smsc.port, "gateway", "secret") as c:
        await c.bind()
        assert (await c.submit(sm(payload, data_coding=8))).command_status == ESME_ROK
    event = await node_smsc.wait_for_async(lambda e: e["event"] == "submit")
    assert bytes.fromhex(event["short_message"]) == payload and event["data_coding"] == 8


async def test_long_udh_message_parts_are_read_by_node(node_smsc: NodeSmsc) -> None:
    """A 3-part UDH message: node sees UDHI, one reference, totals 3 and seqs 1..3, and gives 3 ids."""
    text = "The quick brown fox jumps over the lazy dog. " * 9
    segments = build_segments(text, reference=0xA5, method="udh", encoding=Encoding.GSM7)
    assert len(segments) == 3
    async with raw_client(node_smsc.port, "gateway", "secret") as c:
        await c.bind()
        resps = await c.submit_many(
            [sm(s.short_message, esm_class=s.esm_class_flags, data_coding=s.data_coding) for s in segments]
        )
    assert [r.message_id for r in resps] == ["1", "2", "3"]  # type: ignore[attr-defined]
    await node_smsc.wait_for_async(
        lambda e: e["event"] == "submit" and e["sequence_number"] == resps[-1].sequence_number
    )
    submits = node_smsc.events("submit")
    assert [e["udh"] for e in submits] == [{"ref": 0xA5, "total": 3, "seq": i, "bits": 8} for i in (1, 2, 3)]
    assert all(e["esm_class"] & 0x40 for e in submits)
    assert [bytes.fromhex(e["short_message"]) for e in submits] == [s.short_message for s in segments]


async def test_sar_parts_are_read_by_node(node_smsc: NodeSmsc) -> None:
    """SAR TLVs (sar_msg_ref_num, sar_total_segments, sar_segment_seqnum) are decoded by node as we sent them."""
    segments = build_segments("x" * 200, reference=0x1234, method="sar", encoding=Encoding.GSM7)
    async with raw_client(node_smsc.port, "gateway", "secret") as c:
        await c.bind()
        pdus = [
            sm(
                s.short_message,
                tlvs=Tlvs(
                    sar_msg_ref_num=s.sar[0],
                    sar_total_segments=s.sar[1],  # type: ignore[index]
                    sar_segment_seqnum=s.sar[2],
                ),
            )  # type: ignore[index]
            for s in segments
        ]
        await c.submit_many(pdus)
    await node_smsc.wait_for_async(lambda e: e["event"] == "submit" and e["sar"] and e["sar"]["seq"] == 2)
    assert [e["sar"] for e in node_smsc.events("submit")] == [{"ref": 0x1234, "total": 2, "seq": i} for i in (1, 2)]


@pytest.mark.parametrize("node_smsc", [{"receipt_delay": 0.05}], indirect=True)
async def test_receipt_from_node_parses_with_our_parser(node_smsc: NodeSmsc) -> None:
    """node's receipt (Appendix B text + TLVs) parses to the submit's id and DELIVRD; node sees our ack."""
    async with raw_client(node_smsc.port, "gateway", "secret") as c:
        await c.bind()
        resp = await c.submit(sm(encode("Your code is 482913", Encoding.GSM7), registered_delivery=1))
        receipt = await c.next_deliver(5.0)
    assert receipt.esm_class == 0x04 and receipt.destination_addr == "1234"
    assert receipt.tlvs[Tag.MESSAGE_STATE] == MessageState.DELIVERED
    parsed = receipt_of(receipt)
    assert parsed.carrier_id == normalise_message_id(resp.message_id, side=IdSide.SUBMIT_RESP)  # type: ignore[attr-defined]
    assert parsed.state is DeliveryState.DELIVERED and parsed.text == "Your code is 482913"
    ack = await node_smsc.wait_for_async(lambda e: e["event"] == "deliver_sm_resp")
    assert (ack["message_id"], ack["command_status"]) == (resp.message_id, 0)  # type: ignore[attr-defined]


@pytest.mark.parametrize("node_smsc", [{"stat": "UNDELIV"}], indirect=True)
async def test_failed_receipt_from_node(node_smsc: NodeSmsc) -> None:
    """A node receipt with stat UNDELIV / message_state 5 reads as UNDELIVERABLE."""
    async with raw_client(node_smsc.port, "gateway", "secret") as c:
        await c.bind()
        await c.submit(sm(b"hi", registered_delivery=1))
        parsed = receipt_of(await c.next_deliver(5.0))
    assert parsed.state is DeliveryState.UNDELIVERABLE and parsed.fields[5] == ("stat", "UNDELIV")


async def test_receipt_reaches_a_separate_receiver(node_smsc: NodeSmsc) -> None:
    """A submit on our transmitter bind gets its receipt on our receiver bind of the same system_id."""
    async with (
        raw_client(node_smsc.port, "gateway", "secret") as tx,
        raw_client(node_smsc.port, "gateway", "secret") as rx,
    ):
        await rx.bind("receiver")
        await tx.bind("transmitter")
        resp = await tx.submit(sm(b"hello", registered_delivery=1))
        receipt = await rx.next_deliver(5.0)
    assert receipt_of(receipt).carrier_id == resp.message_id  # type: ignore[attr-defined]


@pytest.mark.parametrize("node_smsc", [{"throttle_every": 2}], indirect=True)
async def test_throttling_is_answered_0x58(node_smsc: NodeSmsc) -> None:
    """throttle_every=2: node answers every second submit ESME_RTHROTTLED with a header-only resp."""
    async with raw_client(node_smsc.port, "gateway", "secret") as c:
        await c.bind()
        resps = await c.submit_many([sm(b"x") for _ in range(4)])
    assert [r.command_status for r in resps] == [ESME_ROK, ESME_RTHROTTLED] * 2
    assert resps[1].message_id == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize("node_smsc", [{"drop_after": 2}], indirect=True)
async def test_dropped_connection_is_seen_as_closed(node_smsc: NodeSmsc) -> None:
    """drop_after=2: the first submit is answered, the second kills the socket: our session reports Closed."""
    async with raw_client(node_smsc.port, "gateway", "secret") as c:
        await c.bind()
        assert (await c.submit(sm(b"one"))).command_status == ESME_ROK
        second = c.send_submit(sm(b"two"))
        closed = await c.wait_closed(5.0)
        assert not closed.expected
        with pytest.raises(ConnectionError):
            await second
    await node_smsc.wait_for_async(lambda e: e["event"] == "drop")


async def test_unbind_and_enquire_link_are_answered(node_smsc: NodeSmsc) -> None:
    """node answers our enquire_link and our unbind; the connection then closes as expected."""
    async with raw_client(node_smsc.port, "gateway", "secret") as c:
        await c.bind()
        c.send(EnquireLink())
        await node_smsc.wait_for_async(lambda e: e["event"] == "enquire_link")
        resp = await c.unbind()
        assert resp.command_status == ESME_ROK
        assert c.session.outstanding == 0  # the enquire_link_resp came back too
        assert (await c.wait_closed(5.0)).expected
    await node_smsc.wait_for_async(lambda e: e["event"] == "unbind")
