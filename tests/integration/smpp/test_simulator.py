"""The SMSC simulator over loopback, driven by our own EsmeSession (tests/support/smpp_client.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.simulators.smsc import (
    NoReceiverError,
    SimulatorConfig,
    SmscSimulator,
    build_parser,
    config_from_args,
)
from gateway.smpp.protocol.concat import build_segments, parse_udh
from gateway.smpp.protocol.events import DeliverSmReceived, SubmitResponse
from gateway.smpp.protocol.pdu import GenericNack, SubmitSm
from gateway.smpp.protocol.receipts import DeliveryState, IdFormat, IdSide, normalise_message_id
from gateway.smpp.protocol.status import (
    ESME_RINVDSTADR,
    ESME_RINVPASWD,
    ESME_RINVSYSID,
    ESME_RMSGQFUL,
    ESME_ROK,
    ESME_RSYSERR,
    ESME_RTHROTTLED,
    ESME_RX_T_APPN,
)
from gateway.smpp.protocol.text import Encoding, decode, encode
from gateway.smpp.protocol.tlv import Tag, Tlvs
from tests.support.smpp_client import BindRefused, raw_client, receipt_of

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]
Start = Callable[..., Awaitable[SmscSimulator]]


@pytest.fixture
async def start_sim() -> AsyncIterator[Start]:
    """A factory: ``await start_sim(**config)`` -> a running simulator, stopped after the test."""
    running: list[SmscSimulator] = []

    async def start(**config: Any) -> SmscSimulator:
        sim = SmscSimulator(SimulatorConfig(**{"system_id": "gw", "password": "pw", "seed": 7, **config}))
        await sim.start()
        running.append(sim)
        return sim

    yield start
    for sim in running:
        await sim.stop()


def sm(
    text: str = "Hello from the gateway", *, source: str = "1234", to: str = "821012345678", **fields: Any
) -> SubmitSm:
    return SubmitSm(source_addr=source, destination_addr=to, short_message=encode(text, Encoding.GSM7), **fields)


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


# --- bind -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["transceiver", "transmitter", "receiver"])
async def test_bind_with_the_right_credentials_is_accepted(start_sim: Start, mode: str) -> None:
    """Every bind mode with the configured system_id/password gets status 0 and the SMSC's system_id."""
    sim = await start_sim()
    async with raw_client(sim.port, "gw", "pw") as c:
        resp = await c.bind(mode)
    assert resp.command_status == ESME_ROK
    assert resp.system_id == "SMSC"  # type: ignore[attr-defined]
    assert sim.stats.binds == 1


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [("gw", "wrong", ESME_RINVPASWD), ("other", "pw", ESME_RINVSYSID)],
)
async def test_bind_with_wrong_credentials_is_refused(
    start_sim: Start, system_id: str, password: str, status: int
) -> None:
    """A wrong password answers ESME_RINVPASWD, a wrong system_id ESME_RINVSYSID; nothing is bound."""
    sim = await start_sim()
    async with raw_client(sim.port, system_id, password) as c:
        with pytest.raises(BindRefused) as refused:
            await c.bind()
    assert refused.value.response.command_status == status
    assert (sim.stats.binds, sim.stats.bind_failures) == (0, 1)


async def test_any_credentials_are_accepted_when_none_configured(start_sim: Start) -> None:
    """system_id=None and password=None accept whatever the ESME sends."""
    sim = await start_sim(system_id=None, password=None)
    async with raw_client(sim.port, "whoever", "x") as c:
        assert (await c.bind()).command_status == ESME_ROK


# --- submits and receipts -----------------------------------------------------------------------


async def test_submit_is_answered_with_a_message_id_and_logged(start_sim: Start) -> None:
    """An accepted submit gets a hex message id, and accepted_log records it with its fields and text."""
    sim = await start_sim()
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        resp = await c.submit(sm("Hi there", source="SENDER", to="821099998888"))
    assert resp.command_status == ESME_ROK
    message_id = resp.message_id  # type: ignore[attr-defined]
    assert message_id and int(message_id, 16) >= 0
    (entry,) = sim.stats.accepted_log
    assert (entry.message_id, entry.source_addr, entry.destination_addr) == (message_id, "SENDER", "821099998888")
    assert (entry.text, entry.data_coding, entry.esm_class, entry.system_id) == ("Hi there", 0, 0, "gw")
    assert entry.sar is None and entry.udh is None
    assert (sim.stats.submits_received, sim.stats.submits_accepted) == (1, 1)


async def test_message_ids_can_be_decimal(start_sim: Start) -> None:
    """message_id_format='dec' answers decimal ids, all distinct."""
    sim = await start_sim(message_id_format="dec")
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        resps = await c.submit_many([sm() for _ in range(5)])
    ids = [r.message_id for r in resps]  # type: ignore[attr-defined]
    assert all(i.isdigit() for i in ids) and len(set(ids)) == 5


@pytest.mark.parametrize("receipt_format", ["text", "tlv", "both"])
async def test_receipt_parses_with_our_parser_and_names_the_submitted_id(start_sim: Start, receipt_format: str) -> None:
    """The receipt is a deliver_sm esm_class 0x04 whose text and/or TLVs parse to the submit's id, DELIVRD."""
    sim = await start_sim(receipt_format=receipt_format)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        resp = await c.submit(sm("Your code is 123456, valid 5 minutes", registered_delivery=1))
        receipt = await c.next_deliver(3.0)
    assert receipt.esm_class == 0x04
    assert (receipt.source_addr, receipt.destination_addr) == ("821012345678", "1234")
    parsed = receipt_of(receipt)
    assert parsed.carrier_id == normalise_message_id(resp.message_id, side=IdSide.SUBMIT_RESP)  # type: ignore[attr-defined]
    assert parsed.state is DeliveryState.DELIVERED
    assert bool(receipt.short_message) == (receipt_format != "tlv")
    assert (Tag.RECEIPTED_MESSAGE_ID in receipt.tlvs) == (receipt_format != "text")
    if receipt_format != "tlv":
        assert parsed.text == "Your code is 123456,"  # the first 20 characters
        assert parsed.dlvrd == 1 and parsed.submit_date is not None and len(parsed.fields[3][1]) == 10
    await wait_until(lambda: sim.stats.receipts_acked == 1)
    assert sim.stats.receipts_unacked == 0 and not sim.unacked_receipts


async def test_failed_outcome_carries_its_stat_and_network_error(start_sim: Start) -> None:
    """With outcomes UNDELIV=1 the receipt says UNDELIV, err:001, message_state 5 and a GSM network_error_code."""
    sim = await start_sim(outcomes={"UNDELIV": 1.0}, receipt_format="both", twelve_digit_dates=True)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        await c.submit(sm(registered_delivery=1))
        receipt = await c.next_deliver(3.0)
    parsed = receipt_of(receipt)
    assert parsed.state is DeliveryState.UNDELIVERABLE
    assert parsed.network_error == (3, 1) and parsed.err_code == 1
    assert b"stat:UNDELIV err:001" in receipt.short_message and b"dlvrd:000" in receipt.short_message
    assert len(dict(parsed.fields)["submit_date"]) == 12


async def test_outcome_weights_mix_the_stats(start_sim: Start) -> None:
    """Outcomes DELIVRD=1,EXPIRED=1 produce both stats over 40 receipts (seeded)."""
    sim = await start_sim(outcomes={"DELIVRD": 1, "EXPIRED": 1})
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        await c.submit_many([sm(registered_delivery=1) for _ in range(40)])
        states = {receipt_of(await c.next_deliver(3.0)).state for _ in range(40)}
    assert states == {DeliveryState.DELIVERED, DeliveryState.EXPIRED}


async def test_receipt_ids_can_be_written_in_decimal(start_sim: Start) -> None:
    """receipt_id_format='dec' writes the hex id in decimal, which IdFormat.HEX_TO_DEC matches."""
    sim = await start_sim(receipt_id_format="dec", receipt_format="both")
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        resp = await c.submit(sm(registered_delivery=1))
        receipt = await c.next_deliver(3.0)
    hex_id = resp.message_id  # type: ignore[attr-defined]
    assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == str(int(hex_id, 16))
    assert f"id:{int(hex_id, 16)} ".encode() in receipt.short_message
    assert receipt_of(receipt).carrier_id == normalise_message_id(hex_id, IdFormat.HEX_TO_DEC, side=IdSide.SUBMIT_RESP)
    assert sim.unacked_receipts <= {hex_id}


@pytest.mark.parametrize(
    ("registered_delivery", "outcome", "expected"),
    [
        (0, "DELIVRD", False),
        (1, "DELIVRD", True),
        (2, "DELIVRD", False),
        (2, "UNDELIV", True),
    ],
)
async def test_receipts_follow_registered_delivery(
    start_sim: Start, registered_delivery: int, outcome: str, expected: bool
) -> None:
    """registered_delivery 0: no receipt; 1: always; 2: only for a failure."""
    sim = await start_sim(outcomes={outcome: 1})
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        await c.submit(sm(registered_delivery=registered_delivery))
        await c.submit(sm("sentinel", registered_delivery=1, source="9"))  # UNDELIV/DELIVRD alike: rd=1 always
        first = await c.next_deliver(3.0)
    assert (first.destination_addr == "1234") is expected


async def test_receipt_can_come_before_the_response(start_sim: Start) -> None:
    """receipts_before_response writes the deliver_sm ahead of the submit_sm_resp."""
    sim = await start_sim(receipts_before_response=True)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        await c.submit(sm(registered_delivery=1))
        await c.next_deliver(3.0)
    kinds = [type(e) for e in c.events if isinstance(e, (DeliverSmReceived, SubmitResponse))]
    assert kinds == [DeliverSmReceived, SubmitResponse]


async def test_receipt_comes_after_the_response_by_default(start_sim: Start) -> None:
    """By default the submit_sm_resp precedes its receipt."""
    sim = await start_sim()
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        await c.submit(sm(registered_delivery=1))
        await c.next_deliver(3.0)
    kinds = [type(e) for e in c.events if isinstance(e, (DeliverSmReceived, SubmitResponse))]
    assert kinds == [SubmitResponse, DeliverSmReceived]


async def test_response_delay_holds_the_answer(start_sim: Start) -> None:
    """With response_delay the answer is not there at once but arrives later."""
    sim = await start_sim(response_delay=0.3)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        future = c.send_submit(sm())
        done, _ = await asyncio.wait({future}, timeout=0.05)
        assert not done
        assert (await asyncio.wait_for(future, 3.0)).command_status == ESME_ROK


# --- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knob", "status", "counter"),
    [
        ("throttle_every", ESME_RTHROTTLED, "throttled"),
        ("queue_full_every", ESME_RMSGQFUL, "queue_full"),
        ("reject_every", ESME_RINVDSTADR, "rejected"),
    ],
)
async def test_every_nth_submit_is_answered_with_an_error(
    start_sim: Start, knob: str, status: int, counter: str
) -> None:
    """X_every=3 answers submits 3, 6, 9 with its status and the others with 0."""
    sim = await start_sim(**{knob: 3})
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        resps = await c.submit_many([sm() for _ in range(9)])
    assert [r.command_status for r in resps] == [0, 0, status] * 3
    assert getattr(sim.stats, counter) == 3 and sim.stats.submits_accepted == 6


async def test_every_nth_submit_gets_a_generic_nack(start_sim: Start) -> None:
    """generic_nack_every=2 answers every second submit with generic_nack (same sequence number)."""
    sim = await start_sim(generic_nack_every=2)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        resps = await c.submit_many([sm() for _ in range(4)])
    assert [type(r) for r in resps][1::2] == [GenericNack, GenericNack]
    assert resps[1].command_status == ESME_RSYSERR and resps[0].command_status == ESME_ROK
    assert sim.stats.nacked == 2


async def test_max_rate_throttles_per_source_address(start_sim: Start) -> None:
    """max_rate=10 accepts 10 submits a second from one source_addr, answers the rest 0x58; other sources are apart."""
    sim = await start_sim(max_rate=10)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        resps = await c.submit_many([sm(source="A") for _ in range(25)])
        other = await c.submit_many([sm(source="B") for _ in range(5)])
    assert [r.command_status for r in resps].count(ESME_ROK) == 10
    assert [r.command_status for r in resps].count(ESME_RTHROTTLED) == 15
    assert all(r.command_status == ESME_ROK for r in other)
    assert sim.stats.per_second("A") == {0: 10} and sim.stats.throttled == 15


async def test_silent_submit_is_never_answered(start_sim: Start) -> None:
    """silent_every=2: the second submit gets no answer while the first and third do."""
    sim = await start_sim(silent_every=2)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        futures = [c.send_submit(sm()) for _ in range(3)]
        assert (await asyncio.wait_for(futures[2], 3.0)).command_status == ESME_ROK
        await asyncio.sleep(0.1)
        assert futures[0].done() and not futures[1].done()
    assert sim.stats.silent == 1


async def test_drop_every_closes_the_connection_without_answering(start_sim: Start) -> None:
    """drop_every=3: submits 1 and 2 are answered, the third closes the connection unanswered."""
    sim = await start_sim(drop_every=3)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        futures = [c.send_submit(sm()) for _ in range(4)]
        closed = await c.wait_closed(3.0)
        assert not closed.expected
        assert [f.result().command_status for f in futures[:2]] == [0, 0]
        assert all(isinstance(f.exception(), ConnectionError) for f in futures[2:])
    assert sim.stats.dropped == 1 and sim.stats.submits_accepted == 2


async def test_unbind_after_n_submits(start_sim: Start) -> None:
    """unbind_after=2: after answering the second submit the SMSC sends unbind, then closes."""
    sim = await start_sim(unbind_after=2)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        resps = await c.submit_many([sm(), sm()])
        await asyncio.wait_for(c.unbound.wait(), 3.0)
        closed = await c.wait_closed(3.0)
    assert [r.command_status for r in resps] == [0, 0]
    assert closed.expected and sim.stats.unbinds_sent == 1


async def test_drop_connections_aborts_every_connection(start_sim: Start) -> None:
    """drop_connections() closes every open connection at once."""
    sim = await start_sim()
    async with raw_client(sim.port, "gw", "pw") as a, raw_client(sim.port, "gw", "pw") as b:
        await a.bind()
        await b.bind("receiver")
        await wait_until(lambda: sim.open_connections == 2)
        sim.drop_connections()
        assert not (await a.wait_closed(3.0)).expected
        assert not (await b.wait_closed(3.0)).expected
    await wait_until(lambda: sim.open_connections == 0)


async def test_update_changes_behaviour_live(start_sim: Start) -> None:
    """update(throttle_every=1) throttles the very next submit; update(throttle_every=0) stops it."""
    sim = await start_sim()
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        assert (await c.submit(sm())).command_status == ESME_ROK
        sim.update(throttle_every=1)
        assert (await c.submit(sm())).command_status == ESME_RTHROTTLED
        sim.update(throttle_every=0)
        assert (await c.submit(sm())).command_status == ESME_ROK


@pytest.mark.parametrize(
    "changes",
    [{"port": 1}, {"receipt_format": "xml"}, {"outcomes": {"LOST": 1}}, {"throttle_every": -1}, {"deliver_window": 0}],
)
async def test_update_refuses_invalid_changes(start_sim: Start, changes: dict[str, Any]) -> None:
    """update() validates like the constructor and refuses host/port changes; the config is kept."""
    sim = await start_sim()
    before = sim.config
    with pytest.raises(ValueError):
        sim.update(**changes)
    assert sim.config is before


# --- receipt delivery guarantees ----------------------------------------------------------------


async def test_unacked_receipt_is_resent(start_sim: Start) -> None:
    """A receipt left unanswered past receipt_ack_timeout comes again; acking it settles it."""
    sim = await start_sim(receipt_ack_timeout=0.2)
    async with raw_client(sim.port, "gw", "pw", auto_ack=False) as c:
        await c.bind()
        resp = await c.submit(sm(registered_delivery=1))
        first = await c.next_deliver(3.0)
        assert sim.unacked_receipts == {resp.message_id}  # type: ignore[attr-defined]
        again = await c.next_deliver(3.0)
        assert again.short_message == first.short_message and again.sequence_number != first.sequence_number
        c.ack(again)
        await wait_until(lambda: sim.stats.receipts_acked == 1)
    assert sim.stats.receipts_resent >= 1 and sim.stats.receipts_unacked == 0 and not sim.unacked_receipts


async def test_receipt_refused_by_the_esme_is_retried(start_sim: Start) -> None:
    """A receipt answered ESME_RX_T_APPN (0x64) is sent again after receipt_retry_delay."""
    sim = await start_sim(receipt_retry_delay=0.1)
    async with raw_client(sim.port, "gw", "pw", auto_ack=False) as c:
        await c.bind()
        await c.submit(sm(registered_delivery=1))
        first = await c.next_deliver(3.0)
        c.ack(first, ESME_RX_T_APPN)
        again = await c.next_deliver(3.0)
        assert again.short_message == first.short_message
        c.ack(again)
        await wait_until(lambda: sim.stats.receipts_acked == 1)
    assert sim.stats.receipts_refused == 1 and sim.stats.receipts_unacked == 0


async def test_receipt_goes_to_a_receiver_of_the_same_system_id(start_sim: Start) -> None:
    """A submit on a transmitter gets its receipt on the receiver bound with the same system_id."""
    sim = await start_sim()
    async with raw_client(sim.port, "gw", "pw") as tx, raw_client(sim.port, "gw", "pw") as rx:
        await rx.bind("receiver")
        await tx.bind("transmitter")
        resp = await tx.submit(sm(registered_delivery=1))
        receipt = await rx.next_deliver(3.0)
    assert receipt_of(receipt).carrier_id == normalise_message_id(resp.message_id, side=IdSide.SUBMIT_RESP)  # type: ignore[attr-defined]
    assert tx.delivers.empty()


async def test_receipt_waits_for_a_receiver_to_bind(start_sim: Start) -> None:
    """With no receiver bound the receipt is owed (unacked) and goes out when one binds."""
    sim = await start_sim()
    async with raw_client(sim.port, "gw", "pw") as tx:
        await tx.bind("transmitter")
        await tx.submit(sm(registered_delivery=1))
        await asyncio.sleep(0.05)
        assert sim.stats.receipts_unacked == 1 and sim.stats.receipts_sent == 0
        async with raw_client(sim.port, "gw", "pw") as rx:
            await rx.bind("receiver")
            await rx.next_deliver(3.0)
            await wait_until(lambda: sim.stats.receipts_unacked == 0)


async def test_receipt_in_flight_on_a_lost_connection_is_resent_elsewhere(start_sim: Start) -> None:
    """A receipt sent on a connection that dies unanswered is resent on another receiver."""
    sim = await start_sim()
    async with raw_client(sim.port, "gw", "pw", auto_ack=False) as first:
        await first.bind()
        await first.submit(sm(registered_delivery=1))
        lost = await first.next_deliver(3.0)
    async with raw_client(sim.port, "gw", "pw") as second:
        await second.bind("receiver")
        again = await second.next_deliver(3.0)
        await wait_until(lambda: sim.stats.receipts_unacked == 0)
    assert again.short_message == lost.short_message and sim.stats.receipts_resent == 1


async def test_deliver_window_holds_receipts_until_acks_free_slots(start_sim: Start) -> None:
    """With deliver_window=2 only two receipts are in flight; acking them lets the next ones out."""
    sim = await start_sim(deliver_window=2)
    async with raw_client(sim.port, "gw", "pw", auto_ack=False) as c:
        await c.bind()
        await c.submit_many([sm(registered_delivery=1) for _ in range(5)])
        batch = [await c.next_deliver(3.0), await c.next_deliver(3.0)]
        await asyncio.sleep(0.1)
        assert c.delivers.empty() and sim.stats.receipts_sent == 2
        for pdu in batch:
            c.ack(pdu)
        for _ in range(3):
            c.ack(await c.next_deliver(3.0))
        await wait_until(lambda: sim.stats.receipts_acked == 5)


async def test_many_receipts_all_acked(start_sim: Start) -> None:
    """500 pipelined submits with receipts: every one is answered, receipted once and acked (0 lost)."""
    sim = await start_sim(receipt_delay=0.05)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        resps = await c.submit_many([sm(registered_delivery=1) for _ in range(500)])
        ids = {normalise_message_id(r.message_id, side=IdSide.SUBMIT_RESP) for r in resps}  # type: ignore[attr-defined]
        receipts = {receipt_of(await c.next_deliver(3.0)).carrier_id for _ in range(500)}
        await wait_until(lambda: sim.stats.receipts_acked == 500)
    assert receipts == ids and sim.stats.receipts_resent == 0 and sim.stats.receipts_unacked == 0


# --- MO -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "data_coding"), [("Hello STOP", 0x00), ("안녕하세요 수신거부", 0x08)])
async def test_mo_is_delivered_in_gsm_or_ucs2(start_sim: Start, text: str, data_coding: int) -> None:
    """send_mo delivers a deliver_sm with esm_class 0 in GSM 7-bit, or UCS-2 when the text needs it."""
    sim = await start_sim()
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind("receiver")
        await sim.send_mo("821012345678", "1234", text)
        mo = await c.next_deliver(3.0)
        await wait_until(lambda: sim.stats.mo_acked == 1)
    assert (mo.esm_class, mo.data_coding, mo.source_addr, mo.destination_addr) == (
        0,
        data_coding,
        "821012345678",
        "1234",
    )
    assert decode(mo.short_message, Encoding.GSM7 if data_coding == 0 else Encoding.UCS2) == text
    assert sim.stats.mo_sent == 1


async def test_long_mo_is_sent_as_udh_parts(start_sim: Start) -> None:
    """A 200-character MO arrives as two UDHI parts with one reference that join to the text."""
    sim = await start_sim()
    text = "x" * 150 + "y" * 50
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        await sim.send_mo("821012345678", "1234", text)
        parts = [await c.next_deliver(3.0), await c.next_deliver(3.0)]
    udhs = [parse_udh(p.short_message) for p in parts]
    assert all(p.esm_class == 0x40 for p in parts)
    assert {u.concat.reference for u, _ in udhs if u.concat} == {udhs[0][0].concat.reference}  # type: ignore[union-attr]
    assert decode(b"".join(body for _, body in udhs), Encoding.GSM7) == text


async def test_mo_without_a_receiver_is_refused(start_sim: Start) -> None:
    """send_mo raises NoReceiverError when only a transmitter is bound."""
    sim = await start_sim()
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind("transmitter")
        with pytest.raises(NoReceiverError):
            await sim.send_mo("821012345678", "1234", "hi")


# --- what the simulator saw -----------------------------------------------------------------------


async def test_messages_reassembles_udh_sar_and_payload(start_sim: Start) -> None:
    """messages() gives whole texts: UDH parts (sent out of order), SAR parts and a message_payload."""
    sim = await start_sim()
    udh_text, sar_text, payload_text = "U" * 170 + "-end", "한글 " * 50, "P" * 300
    udh_parts = build_segments(udh_text, reference=42, method="udh")
    sar_parts = build_segments(sar_text, reference=7, method="sar")
    (payload,) = build_segments(payload_text, reference=0, method="payload")
    pdus = [
        *[
            SubmitSm(
                source_addr="1",
                destination_addr="2",
                esm_class=s.esm_class_flags,
                data_coding=s.data_coding,
                short_message=s.short_message,
            )
            for s in reversed(udh_parts)
        ],
        SubmitSm(source_addr="1", destination_addr="2", short_message=b"single"),
        *[
            SubmitSm(
                source_addr="1",
                destination_addr="2",
                data_coding=s.data_coding,
                short_message=s.short_message,
                tlvs=Tlvs(sar_msg_ref_num=s.sar[0], sar_total_segments=s.sar[1], sar_segment_seqnum=s.sar[2]),
            )  # type: ignore[index]
            for s in sar_parts
        ],
        SubmitSm(
            source_addr="1",
            destination_addr="2",
            data_coding=payload.data_coding,
            tlvs=Tlvs(message_payload=payload.message_payload),
        ),  # type: ignore[arg-type]
    ]
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        await c.submit_many(pdus)
    assert len(udh_parts) == 2 and len(sar_parts) == 3
    assert sim.stats.messages() == [udh_text, "single", sar_text, payload_text]
    assert [e.udh for e in sim.stats.accepted_log[:2]] == [(42, 2, 2), (42, 2, 1)]
    assert sim.stats.accepted_log[3].sar == (7, 3, 1)


async def test_record_submits_off_keeps_no_log(start_sim: Start) -> None:
    """record_submits=False answers and counts as usual but keeps no accepted_log."""
    sim = await start_sim(record_submits=False)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        await c.submit_many([sm(), sm()])
    assert sim.stats.submits_accepted == 2 and sim.stats.accepted_log == [] and sim.stats.messages() == []


async def test_per_second_buckets_accepted_submits(start_sim: Start) -> None:
    """per_second() counts accepted submits in whole seconds since the first one, per source or all."""
    sim = await start_sim(throttle_every=4)
    async with raw_client(sim.port, "gw", "pw") as c:
        await c.bind()
        await c.submit_many([sm(source="A"), sm(source="B"), sm(source="A"), sm(source="A")])
    assert sim.stats.per_second() == {0: 3}
    assert sim.stats.per_second("A") == {0: 2} and sim.stats.per_second("C") == {}


# --- command line -------------------------------------------------------------------------------------


def test_every_config_field_is_a_command_line_flag() -> None:
    """Each SimulatorConfig field has a flag, and the flags build the matching config."""
    args = build_parser().parse_args(
        [
            "--port",
            "0",
            "--system-id",
            "gw",
            "--outcomes",
            "DELIVRD=0.9,undeliv=0.1",
            "--throttle-every",
            "5",
            "--max-rate",
            "50",
            "--receipts-before-response",
            "--receipt-id-format",
            "dec",
            "--seed",
            "3",
        ]
    )
    config = config_from_args(args)
    assert dict(config.outcomes) == {"DELIVRD": 0.9, "UNDELIV": 0.1}
    assert (config.port, config.system_id, config.throttle_every, config.max_rate) == (0, "gw", 5, 50.0)
    assert (config.receipts_before_response, config.receipt_id_format, config.seed) == (True, "dec", 3)
    defaults = config_from_args(build_parser().parse_args([]))
    assert defaults.port == 2775 and defaults.receipt_format == "text" and defaults.system_id is None


def test_bad_outcomes_flag_is_a_usage_error() -> None:
    """--outcomes without STAT=WEIGHT exits with a usage error."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--outcomes", "DELIVRD"])


async def test_cli_serves_until_sigterm_and_prints_json_stats() -> None:
    """`python -m gateway.simulators.smsc` listens, takes a bind, prints JSON stats on stderr, exits 0 on SIGTERM."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.simulators.smsc",
        "--port",
        "0",
        "--stats-interval",
        "0.1",
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stderr is not None
    try:
        lines: list[dict[str, Any]] = []

        async def next_json() -> dict[str, Any]:
            while True:
                raw = await asyncio.wait_for(proc.stderr.readline(), 10.0)  # type: ignore[union-attr]
                assert raw, "the simulator exited"
                if raw.startswith(b"{"):
                    lines.append(json.loads(raw))
                    return lines[-1]

        listening = await next_json()
        assert listening["event"] == "smsc.listening"
        async with raw_client(listening["port"], "any", "thing") as c:
            await c.bind()
        while not ((line := await next_json())["event"] == "smsc.stats" and line["binds"] == 1):
            pass
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10.0) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
