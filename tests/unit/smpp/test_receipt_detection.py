"""Issue 12, points 1 and 6 at the unit tier: what counts as a receipt, and query_sm between the two sessions."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

import pytest

from gateway.port import ReceiptState
from gateway.smpp.inbound import is_receipt, receipt_from_query
from gateway.smpp.protocol.codec import NEED_DATA
from gateway.smpp.protocol.events import BindComplete, Event, QueryResponse, QuerySmReceived, ResponseTimeout
from gateway.smpp.protocol.pdu import BindTransceiver, DataSm, DeliverSm, QuerySm, QuerySmResp
from gateway.smpp.protocol.session import EsmeSession, SmscSession
from gateway.smpp.protocol.status import ESME_ROK, ESME_RQUERYFAIL
from gateway.smpp.protocol.tlv import MessageState, Tlvs

APPENDIX_B = b"id:4f2a sub:001 dlvrd:001 submit date:2612011200 done date:2612011201 stat:DELIVRD err:000 text:hi"


@pytest.mark.parametrize(
    "pdu",
    [
        DeliverSm(esm_class=0x00, short_message=APPENDIX_B),
        DeliverSm(esm_class=0x00, tlvs=Tlvs(receipted_message_id="4f2a", message_state=2)),
        DeliverSm(esm_class=0x00, tlvs=Tlvs(message_state=2)),
        DeliverSm(esm_class=0x00, short_message=b"ID:4f2a STAT:UNDELIV ERR:001"),
        DeliverSm(esm_class=0x00, data_coding=0x08, short_message=APPENDIX_B.decode().encode("utf-16-be")),
        DataSm(esm_class=0x00, tlvs=Tlvs(receipted_message_id="4f2a", message_state=2)),
    ],
    ids=["text", "tlvs", "message_state_only", "upper_case_text", "ucs2_text", "data_sm_tlvs"],
)
def test_esm_class_zero_receipts_are_receipts_by_content(pdu: DeliverSm | DataSm) -> None:
    """With esm_class 0, the receipt TLVs or an Appendix B text make a PDU a receipt ("auto"), not with the
    rule pinned to esm_class."""
    assert is_receipt(pdu, "auto") is True
    assert is_receipt(pdu, "esm_class") is False


@pytest.mark.parametrize(
    "text",
    [b"STOP", b"hello, my id: 12 is fine", b"id:123", b"Did you get it? stat: later", b"", b"id:\xff\xfe stat:"],
)
def test_mo_messages_stay_mo_messages(text: bytes) -> None:
    """Ordinary MO texts, even ones with "id:" or "stat:" in them, are not receipts."""
    assert is_receipt(DeliverSm(esm_class=0x00, short_message=text), "auto") is False


def test_esm_class_bits_still_decide_first() -> None:
    """A PDU whose esm_class says receipt is one under either rule."""
    pdu = DeliverSm(esm_class=0x04, short_message=b"whatever")
    assert is_receipt(pdu, "auto") and is_receipt(pdu, "esm_class") and is_receipt(pdu)


def _events(session: Any) -> list[Event]:
    out = []
    while (event := session.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def _pipe(data: bytes, to: Any, now: float = 0.0) -> list[Event]:
    to.receive_data(data, now)
    return _events(to)


def _bound_pair() -> tuple[EsmeSession, SmscSession]:
    esme, smsc = EsmeSession(response_timeout=5.0), SmscSession(authenticate=lambda pdu: ESME_ROK)
    _pipe(esme.send(BindTransceiver(system_id="me", password="pw"), 0.0), smsc)
    assert isinstance(_pipe(smsc.data_to_send(), esme)[0], BindComplete)
    return esme, smsc


def test_query_sm_round_trip_between_the_sessions() -> None:
    """query_sm goes from the ESME to the SMSC as QuerySmReceived; ack_query's answer comes back as a
    QueryResponse with its context, carrying state, final date and error code."""
    esme, smsc = _bound_pair()
    [asked] = _pipe(esme.send(QuerySm(message_id="4f2a", source_addr="ACME"), 0.0, context="q1"), smsc)
    assert isinstance(asked, QuerySmReceived) and asked.pdu.message_id == "4f2a"  # type: ignore[attr-defined]
    answer = smsc.ack_query(asked.pdu, message_state=5, final_date="261201120100000+", error_code=1)  # type: ignore[arg-type]
    [got] = _pipe(answer, esme)
    assert isinstance(got, QueryResponse) and got.context == "q1"
    resp = got.response
    assert isinstance(resp, QuerySmResp)
    assert (resp.message_id, resp.message_state, resp.final_date, resp.error_code) == (
        "4f2a",
        5,
        "261201120100000+",
        1,
    )
    assert esme.window_free == esme.window  # the answer freed its slot


def test_query_sm_refused_and_timed_out() -> None:
    """An unknown id is answered ESME_RQUERYFAIL with an empty body; an unanswered query times out."""
    esme, smsc = _bound_pair()
    [asked] = _pipe(esme.send(QuerySm(message_id="nope"), 0.0, context="q"), smsc)
    [got] = _pipe(smsc.ack_query(asked.pdu, ESME_RQUERYFAIL), esme)  # type: ignore[arg-type]
    assert isinstance(got, QueryResponse) and got.response.command_status == ESME_RQUERYFAIL
    esme.send(QuerySm(message_id="late"), 0.0, context="q2")
    [timeout] = esme.on_timer(10.0)
    assert isinstance(timeout, ResponseTimeout) and timeout.context == "q2"


def test_query_answer_reads_as_a_receipt() -> None:
    """A query_sm_resp becomes the Receipt a deliver_sm would have given: state, code, final date in the
    SMSC's zone; en route is interim."""
    zone = zoneinfo.ZoneInfo("Asia/Seoul")
    resp = QuerySmResp(message_id="4f2a", final_date="261201120100000+", message_state=2, error_code=0)
    r = receipt_from_query("smsc", "4f2a", resp, zone)
    assert (r.carrier_id, r.state, r.code) == ("4f2a", ReceiptState.DELIVERED, "000")
    assert r.done_at is not None and r.done_at.utcoffset() is not None
    assert r.done_at.replace(tzinfo=None) == datetime(2026, 12, 1, 12, 1)
    enroute = receipt_from_query("smsc", "4f2a", QuerySmResp(message_state=int(MessageState.ENROUTE)), zone)
    assert enroute.state is ReceiptState.ACCEPTED and enroute.done_at is None
