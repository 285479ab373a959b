"""deliver_sm contents: receipts (fast and general readers agree), MO decoding and long-MO assembly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.port import ReceiptState
from gateway.smpp.connector import SmppConnector
from gateway.smpp.inbound import MoAssembler, ReceiptReader, is_receipt
from gateway.smpp.protocol.concat import build_segments
from gateway.smpp.protocol.pdu import DeliverSm
from gateway.smpp.protocol.receipts import ReceiptParseError
from gateway.smpp.protocol.text import Encoding
from gateway.smpp.protocol.tlv import MessageState, NetworkErrorCode, Tag, Tlvs
from tests.support.smpp_connector import FakeSink, config

WALL = datetime(2026, 1, 1, tzinfo=UTC)

digits = st.text("0123456789", min_size=1, max_size=12)
date = st.one_of(st.text("0123456789", min_size=10, max_size=10), st.text("0123456789", min_size=12, max_size=12))


@settings(max_examples=150, deadline=None)
@given(
    raw_id=st.text("0123456789abcdefABCDEF", min_size=1, max_size=20),
    sub=digits,
    dlvrd=digits,
    submit=date,
    done=date,
    stat=st.sampled_from(["DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "ACCEPTD", "ENROUTE", "BOGUS"]),
    err=digits,
    tail=st.sampled_from(["", " text:Hello", " text:"]),
    receipted=st.one_of(st.none(), st.just("ABC123"), st.just("  ")),
    id_format=st.sampled_from(["as_is", "hex_to_dec", "dec_to_hex"]),
    message_state=st.one_of(st.none(), st.integers(0, 12)),
    network_error=st.one_of(st.none(), st.tuples(st.integers(0, 255), st.integers(0, 0xFFFF))),
)
def test_appendix_b_fast_path_reads_like_the_general_parser(**kw: Any) -> None:
    """For Appendix B text, with or without the receipt TLVs, the shortcut gives the same Receipt as
    parse_receipt's general path (the TLVs winning where they speak)."""
    text = (
        f"id:{kw['raw_id']} sub:{kw['sub']} dlvrd:{kw['dlvrd']} submit date:{kw['submit']} "
        f"done date:{kw['done']} stat:{kw['stat']} err:{kw['err']}{kw['tail']}"
    )
    items: dict[int, Any] = {}
    if kw["receipted"]:
        items[Tag.RECEIPTED_MESSAGE_ID] = kw["receipted"]
    if kw["message_state"] is not None:
        items[Tag.MESSAGE_STATE] = kw["message_state"]
    if kw["network_error"] is not None:
        items[Tag.NETWORK_ERROR_CODE] = NetworkErrorCode(*kw["network_error"])
    tlvs = Tlvs(items)
    pdu = DeliverSm(esm_class=0x04, short_message=text.encode(), tlvs=tlvs)
    fast = ReceiptReader("c", id_format=kw["id_format"], fast=True)
    slow = ReceiptReader("c", id_format=kw["id_format"], fast=False)
    try:
        expected = slow.read(pdu)
    except ReceiptParseError:
        with pytest.raises(ReceiptParseError):
            fast.read(pdu)
        return
    assert fast.read(pdu) == expected


def test_receipt_from_tlvs_with_network_error() -> None:
    """TLV-only receipts use receipted_message_id, message_state and the network error code."""
    pdu = DeliverSm(
        esm_class=0x04,
        tlvs=Tlvs(
            receipted_message_id="00FF",
            message_state=int(MessageState.UNDELIVERABLE),
            network_error_code=NetworkErrorCode(3, 27),
        ),
    )
    receipt = ReceiptReader("c", timezone="Asia/Seoul").read(pdu)
    assert (receipt.carrier_id, receipt.state, receipt.code) == ("ff", ReceiptState.UNDELIVERABLE, "027")
    assert receipt.detail == {"esm_class": 4, "stat": "UNDELIVERABLE", "network_error": [3, 27]}


def test_receipt_done_date_takes_the_configured_zone() -> None:
    """done date is read in the SMSC's zone and comes back aware."""
    text = b"id:1 sub:001 dlvrd:001 submit date:2601011200 done date:2601011205 stat:ENROUTE err:000"
    receipt = ReceiptReader("c", timezone="Asia/Seoul").read(DeliverSm(esm_class=0x20, short_message=text))
    assert receipt.state is ReceiptState.ACCEPTED  # interim, not final
    assert receipt.done_at is not None and receipt.done_at.isoformat() == "2026-01-01T12:05:00+09:00"


@pytest.mark.parametrize(
    ("esm_class", "receipt"), [(0x00, False), (0x40, False), (0x04, True), (0x08, True), (0x10, True), (0x20, True)]
)
def test_receipt_bits_of_esm_class(esm_class: int, receipt: bool) -> None:
    """SMSC receipts, SME acknowledgements and intermediate notifications count as receipts; MO does not."""
    assert is_receipt(DeliverSm(esm_class=esm_class)) is receipt


def _parts(text: str, ref: int = 7) -> list[DeliverSm]:
    return [
        DeliverSm(source_addr="821099990000", source_addr_ton=1, destination_addr="1588", esm_class=s.esm_class_flags,
                  data_coding=s.data_coding, short_message=s.short_message)
        for s in build_segments(text, reference=ref, encoding=Encoding.UCS2)
    ]  # fmt: skip


def test_long_mo_is_held_until_whole_and_returns_every_token() -> None:
    """Parts of a long MO are held (no message, no ack) until the last one; then all tokens come back."""
    text = "한국어 답장 " * 20
    parts = _parts(text)
    mo = MoAssembler("c")
    assert len(parts) > 2
    outs = [mo.add(p, f"t{i}", now=0.0, received_at=WALL) for i, p in enumerate(reversed(parts))]
    assert outs[:-1] == [None] * (len(parts) - 1)
    message, tokens = outs[-1]  # type: ignore[misc]
    assert message.body == text and message.sender == "+821099990000" and message.recipient == "1588"
    assert sorted(tokens) == sorted(f"t{i}" for i in range(len(parts)))
    assert len(mo) == 0


def test_sar_mo_parts_are_joined() -> None:
    """MO parts that carry SAR TLVs instead of a UDH are joined too."""
    pdus = [
        DeliverSm(source_addr="1", destination_addr="2", short_message=chunk,
                  tlvs=Tlvs(sar_msg_ref_num=300, sar_total_segments=2, sar_segment_seqnum=i))
        for i, chunk in ((1, b"Hello "), (2, b"world"))
    ]  # fmt: skip
    mo = MoAssembler("c")
    assert mo.add(pdus[0], "a", now=0.0, received_at=WALL) is None
    message, tokens = mo.add(pdus[1], "b", now=0.0, received_at=WALL)  # type: ignore[misc]
    assert (message.body, sorted(tokens)) == ("Hello world", ["a", "b"])


def test_incomplete_mo_expires_as_partial() -> None:
    """A long MO missing parts past max_age is given up: what came, flagged partial, with its tokens."""
    mo = MoAssembler("c", max_age=5.0)
    first = _parts("x" * 300)[0]
    assert mo.add(first, "t0", now=0.0, received_at=WALL) is None
    assert mo.expire(1.0, WALL) == []
    ((message, tokens),) = mo.expire(6.0, WALL)
    assert tokens == ["t0"] and message.detail["partial"] is True and message.detail["parts_received"] == [1]
    assert message.body == "x" * 67


def test_undecodable_mo_is_kept_as_hex() -> None:
    """MO bytes that do not decode in their data_coding are stored as hex, flagged."""
    pdu = DeliverSm(source_addr="1", destination_addr="2", data_coding=0x08, short_message=b"\xd8\x00")
    message, tokens = MoAssembler("c").add(pdu, "t", now=0.0, received_at=WALL)  # type: ignore[misc]
    assert (message.body, message.detail["undecodable"], tokens) == ("d800", True, ["t"])


class _FakeLink:
    def __init__(self) -> None:
        self.acks: list[tuple[DeliverSm, int]] = []

    def ack(self, pdu: DeliverSm, status: int) -> bool:
        self.acks.append((pdu, status))
        return True


@pytest.mark.anyio
async def test_unparseable_receipt_is_acked_and_dropped() -> None:
    """A receipt without id or state goes to the sink as dropped (receipt_malformed, without its text), is
    acknowledged (status 0) once stored, counted and logged."""
    from prometheus_client import REGISTRY
    from structlog.testing import capture_logs

    from gateway.smpp.bind import Delivery

    conn = SmppConnector(config(1, name="smsc-unparseable"))
    sink = FakeSink()
    conn._sink = sink
    link = _FakeLink()
    good = DeliverSm(
        esm_class=0x04,
        short_message=b"id:1 sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000",
    )
    bad = DeliverSm(esm_class=0x04, short_message=b"secret body text")
    with capture_logs() as logs:
        await conn.deliveries(conn.binds[0], [Delivery(bad, link), Delivery(good, link)])  # type: ignore[arg-type]
    assert [status for _, status in link.acks] == [0, 0]
    assert [(r.carrier_id, r.dropped) for r in sink.receipts] == [("", "receipt_malformed"), ("1", None)]
    assert "secret" not in repr(sink.receipts)
    assert REGISTRY.get_sample_value("gateway_smpp_receipts_unparseable_total", {"connector": "smsc-unparseable"}) == 1
    assert [e["event"] for e in logs] == ["smpp.receipt.unparseable"]
    assert "secret" not in repr(logs)


@pytest.mark.anyio
async def test_failed_store_answers_temporary_error() -> None:
    """Receipts and MO the sink cannot store are answered ESME_RX_T_APPN (0x64), each kind on its own."""
    from gateway.smpp.bind import Delivery

    conn = SmppConnector(config(1))
    sink = FakeSink()
    sink.fail_inbound = 1
    conn._sink = sink
    link = _FakeLink()
    receipt = DeliverSm(esm_class=0x04, tlvs=Tlvs(receipted_message_id="9", message_state=2))
    mo = DeliverSm(source_addr="1", destination_addr="2", short_message=b"hi")
    await conn.deliveries(conn.binds[0], [Delivery(receipt, link), Delivery(mo, link)])  # type: ignore[arg-type]
    assert [(pdu is mo, status) for pdu, status in link.acks] == [(False, 0), (True, 0x64)]
    assert sink.inbound == [] and len(sink.receipts) == 1
    await anyio.lowlevel.checkpoint()
