"""The SMPP connector against the simulator over loopback: submits, results, receipts, MO, drain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest
from prometheus_client import REGISTRY

from gateway.errors import ConnectorClosed
from gateway.port import Outcome, ReceiptState
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from gateway.smpp.connector import SmppConnector
from gateway.smpp.protocol.pdu import parse_smpp_time
from gateway.smpp.protocol.receipts import normalise_message_id
from tests.support.smpp_connector import FakeSink, config, message, running, wait_for

pytestmark = pytest.mark.anyio

LONG_TEXT = "".join(f"Part of a long message, sentence {i}. " for i in range(12))  # ~420 chars: 3 GSM parts


@pytest.fixture
async def sim():
    async with SmscSimulator(SimulatorConfig(system_id="gateway", password="secret", seed=7)) as simulator:
        yield simulator


async def test_submit_then_receipt_end_to_end(sim: SmscSimulator) -> None:
    """One message is SUBMITTED with the simulator's id, and its receipt is stored under the same id, then acked."""
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port)), sink) as conn:
        msg = message()
        await conn.send(msg)
        await wait_for(lambda: sink.results and sink.receipts)
        await wait_for(lambda: sim.stats.receipts_acked == 1)
    result = sink.result(msg.id)
    assert result.outcome is Outcome.SUBMITTED
    sim_id = sim.stats.accepted_log[0].message_id
    assert result.carrier_ids == (normalise_message_id(sim_id, side="submit_resp"),)
    (receipt,) = sink.receipts
    assert receipt.carrier_id == result.carrier_ids[0]
    assert receipt.connector == "smsc-test"
    assert receipt.state is ReceiptState.DELIVERED
    assert receipt.code == "000"
    assert receipt.done_at is not None and receipt.done_at.tzinfo is not None
    assert sim.stats.messages() == ["Hello from the gateway"]


@pytest.mark.parametrize(
    ("receipt_format", "stat", "state", "code"),
    [
        ("text", "UNDELIV", ReceiptState.UNDELIVERABLE, "001"),
        ("tlv", "EXPIRED", ReceiptState.EXPIRED, "027"),
        ("both", "REJECTD", ReceiptState.FAILED, "011"),
    ],
)
async def test_receipt_formats_and_states(
    sim: SmscSimulator, receipt_format: str, stat: str, state: ReceiptState, code: str
) -> None:
    """Receipts in text, TLV or both forms map to the right ReceiptState and error code."""
    sim.update(receipt_format=receipt_format, outcomes={stat: 1.0})
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sink.receipts)
    (receipt,) = sink.receipts
    assert receipt.state is state
    assert receipt.code == code
    assert receipt.carrier_id == sink.results[0].carrier_ids[0]


@pytest.mark.parametrize("id_format", ["hex_to_dec", "dec_to_hex"])
async def test_id_formats_match_receipts_to_submits(sim: SmscSimulator, id_format: str) -> None:
    """With ids written differently in responses and receipts, id_format makes them equal."""
    if id_format == "hex_to_dec":
        sim.update(message_id_format="hex", receipt_id_format="dec")
    else:
        sim.update(message_id_format="dec", receipt_id_format="hex")
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, id_format=id_format)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sink.receipts)
    assert sink.receipts[0].carrier_id == sink.results[0].carrier_ids[0]


@pytest.mark.parametrize("method", ["udh", "sar", "payload"])
async def test_long_message_reaches_the_smsc_whole(sim: SmscSimulator, method: str) -> None:
    """A 3-part message goes out as UDH parts, SAR parts or one payload PDU and is reassembled by the SMSC."""
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, long_message=method, udh_ref_bits=16)), sink) as conn:
        msg = message(LONG_TEXT)
        assert conn.cost(msg) == (1 if method == "payload" else 3)
        await conn.send(msg)
        await wait_for(lambda: sink.results)
    assert sim.stats.messages() == [LONG_TEXT]
    result = sink.result(msg.id)
    assert result.outcome is Outcome.SUBMITTED
    ids = [normalise_message_id(e.message_id, side="submit_resp") for e in sim.stats.accepted_log]
    assert list(result.carrier_ids) == ids  # one per segment, in segment order
    assert len(ids) == (1 if method == "payload" else 3)


@pytest.mark.parametrize(
    ("text", "overrides", "data_coding"),
    [
        ("안녕하세요, 인증번호는 123456 입니다.", {}, 0x08),
        ("안녕하세요, 인증번호는 123456 입니다.", {"data_coding": "euckr"}, 0x0E),
        ("Braces {x} [y] ~ | \\ ^ cost 5€", {}, 0x00),
        ("Grüße aus Köln", {"data_coding": "latin1"}, 0x03),
        ("emoji 😀 in ucs2", {}, 0x08),
    ],
)
async def test_alphabets_reach_the_smsc_intact(
    sim: SmscSimulator, text: str, overrides: dict, data_coding: int
) -> None:
    """UCS-2, EUC-KR, GSM escapes and Latin-1 texts arrive with the right data_coding and decode back."""
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, **overrides)), sink) as conn:
        await conn.send(message(text))
        await wait_for(lambda: sink.results)
    assert sink.results[0].outcome is Outcome.SUBMITTED
    assert sim.stats.accepted_log[0].data_coding == data_coding
    assert sim.stats.messages() == [text]


async def test_refusals_before_sending(sim: SmscSimulator) -> None:
    """Unknown senders, unencodable text and too many segments fail at once, naming no text."""
    sink = FakeSink()
    cfg = config(sim.port, senders=("ACME", "+8215880000"), data_coding="gsm7", max_segments=2)
    async with running(SmppConnector(cfg), sink) as conn:
        stranger = message(sender="EVIL")
        korean = message("abc 한글")
        long = message(LONG_TEXT)
        for m in (stranger, korean, long):
            await conn.send(m)
    assert sink.result(stranger.id).reason == "unknown_sender"
    unencodable = sink.result(korean.id)
    assert (unencodable.outcome, unencodable.reason) == (Outcome.FAILED, "unencodable")
    assert unencodable.detail == {"positions": {"gsm7": 4}, "policy": "gsm7"}
    assert "한" not in repr(unencodable)
    assert sink.result(long.id).reason == "too_long"
    assert sim.stats.submits_received == 0


async def test_validity_period_is_capped_by_the_deadline(sim: SmscSimulator) -> None:
    """validity_period is the configured one, or less when the message's deadline comes sooner."""
    sink = FakeSink()
    now = datetime.now(UTC)
    async with running(SmppConnector(config(sim.port, validity_period_seconds=3600)), sink) as conn:
        await conn.send(message(deadline=now + timedelta(seconds=120)))
        await conn.send(message(deadline=now + timedelta(days=2)))
        await conn.send(message())
        expired = message(deadline=now - timedelta(seconds=1))
        await conn.send(expired)
        await wait_for(lambda: len(sink.results) == 4)
    validities = [parse_smpp_time(e.pdu.validity_period) for e in sim.stats.accepted_log]
    assert timedelta(seconds=110) <= validities[0] <= timedelta(seconds=120)
    assert validities[1:] == [timedelta(hours=1), timedelta(hours=1)]
    assert sink.result(expired.id).reason == "deadline_passed"


async def test_throttled_submit_is_throttled_and_slows_down(sim: SmscSimulator) -> None:
    """ESME_RTHROTTLED / ESME_RMSGQFUL give THROTTLED (not a failure), call the listener and pause the bind."""
    throttled: list[str] = []
    sink = FakeSink()
    sim.update(throttle_every=2, queue_full_every=3)
    cfg = config(sim.port, throttle_pause_ms=300)
    async with running(SmppConnector(cfg, throttle_listener=throttled.append), sink) as conn:
        first, second = message(sender="ACME"), message(sender="BETA")
        await conn.send(first)
        await conn.send(second)
        await wait_for(lambda: len(sink.results) == 2)
        assert conn.binds[0].capacity(anyio.current_time()) == 0  # paused after the throttle
        third = message()
        with anyio.fail_after(2):
            await conn.send(third)  # waits for the pause to end
        await wait_for(lambda: len(sink.results) == 3)
    assert sink.result(first.id).outcome is Outcome.SUBMITTED
    result = sink.result(second.id)
    assert (result.outcome, result.code, result.reason) == (Outcome.THROTTLED, "0x00000058", "ESME_RTHROTTLED")
    queue_full = sink.result(third.id)
    assert (queue_full.outcome, queue_full.code) == (Outcome.THROTTLED, "0x00000014")
    assert throttled == ["BETA", "ACME"]


async def test_permanent_refusal_fails_with_the_carrier_code(sim: SmscSimulator) -> None:
    """A permanent status (ESME_RINVDSTADR) gives FAILED with the code as hex text and the status name."""
    sim.update(reject_every=1)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sink.results)
    (result,) = sink.results
    assert (result.outcome, result.code, result.reason) == (Outcome.FAILED, "0x0000000b", "ESME_RINVDSTADR")


async def test_generic_nack_is_a_retry(sim: SmscSimulator) -> None:
    """A submit answered with generic_nack was refused, not lost: RETRY."""
    sim.update(generic_nack_every=1)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sink.results)
    assert (sink.results[0].outcome, sink.results[0].reason) == (Outcome.RETRY, "generic_nack")


async def test_unanswered_submit_is_unknown_after_the_response_timeout(sim: SmscSimulator) -> None:
    """A submit the SMSC never answers becomes UNKNOWN (may be a duplicate) after response_timeout."""
    sim.update(silent_every=1)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, response_timeout_seconds=0.3)), sink) as conn:
        started = anyio.current_time()
        await conn.send(message())
        await wait_for(lambda: sink.results, timeout=3)
        assert anyio.current_time() - started >= 0.3
    (result,) = sink.results
    assert (result.outcome, result.reason) == (Outcome.UNKNOWN, "timeout")
    assert result.detail == {"may_be_duplicate": True}


async def test_lost_connection_makes_outstanding_unknown_and_reconnects(sim: SmscSimulator) -> None:
    """The SMSC drops the connection with a submit outstanding: UNKNOWN, then the bind comes back."""
    sim.update(drop_every=1)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sink.results)
        assert (sink.results[0].outcome, sink.results[0].reason) == (Outcome.UNKNOWN, "connection_lost")
        assert sink.results[0].detail == {"may_be_duplicate": True}
        sim.update(drop_every=0)
        await wait_for(lambda: conn.binds[0].state == "bound" and sim.stats.binds == 2)
        later = message()
        await conn.send(later)
        await wait_for(lambda: len(sink.results) == 2)
    assert sink.result(later.id).outcome is Outcome.SUBMITTED
    reconnects = REGISTRY.get_sample_value("gateway_smpp_reconnects_total", {"connector": "smsc-test"})
    assert reconnects is not None and reconnects >= 1


async def test_peer_unbind_is_answered_and_the_bind_reconnects(sim: SmscSimulator) -> None:
    """After the SMSC unbinds, the bind answers, reconnects and carries on."""
    sim.update(unbind_after=1)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sim.stats.unbinds_sent == 1 and sim.stats.binds == 2)
        await wait_for(conn.is_ready)
        await conn.send(message())
        await wait_for(lambda: len(sink.results) == 2)
    assert [r.outcome for r in sink.results] == [Outcome.SUBMITTED, Outcome.SUBMITTED]


async def test_receipt_before_response_still_reaches_the_sink(sim: SmscSimulator) -> None:
    """A receipt that overtakes its submit_sm_resp is stored all the same, under the same id."""
    sim.update(receipts_before_response=True, receipt_delay=0.0, response_delay=0.05)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sink.results and sink.receipts)
    assert sink.receipts[0].carrier_id == sink.results[0].carrier_ids[0]


async def test_receipt_is_not_acked_before_it_is_stored(sim: SmscSimulator) -> None:
    """While the sink has not committed a receipt, the SMSC gets no deliver_sm_resp for it."""
    sink = FakeSink()
    sink.gate = anyio.Event()
    async with running(SmppConnector(config(sim.port)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sink.receipt_calls == 1 and sink.results)
        await anyio.sleep(0.1)
        assert sim.stats.receipts_acked == 0
        sink.gate.set()
        await wait_for(lambda: sim.stats.receipts_acked == 1)
    assert len(sink.receipts) == 1


async def test_store_failure_is_answered_temporary_and_resent(sim: SmscSimulator) -> None:
    """If storing fails the receipt is answered ESME_RX_T_APPN, and the SMSC's resend is stored."""
    sim.update(receipt_retry_delay=0.05)
    sink = FakeSink()
    sink.fail_receipts = 1
    async with running(SmppConnector(config(sim.port)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sim.stats.receipts_acked == 1)
    assert sim.stats.receipts_refused == 1
    assert len(sink.receipts) == 1 and sink.receipt_calls == 2


async def test_mobile_originated_messages_are_stored_then_acked(sim: SmscSimulator) -> None:
    """MO text, short or in UDH parts, reaches the sink decoded and whole; every part is then acked."""
    sink = FakeSink()
    long_korean = "답장입니다 " * 30  # UCS-2, several parts
    async with running(SmppConnector(config(sim.port)), sink):
        await sim.send_mo("821099990000", "1588", "STOP")
        await sim.send_mo("821099990001", "1588", long_korean)
        await wait_for(lambda: len(sink.inbound) == 2)
        await wait_for(lambda: sim.stats.mo_acked == sim.stats.mo_sent)
    short, long = sink.inbound
    assert (short.sender, short.recipient, short.body) == ("821099990000", "1588", "STOP")
    assert long.body == long_korean
    assert long.detail["parts"] == sim.stats.mo_sent - 1 > 1


async def test_binds_share_the_load(sim: SmscSimulator) -> None:
    """With three binds and slow answers, messages spread over every bind."""
    sim.update(response_delay=0.2)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, binds=3, window=8)), sink) as conn:
        for _ in range(12):
            await conn.send(message())
        loads = [b.in_flight for b in conn.binds]
        await wait_for(lambda: len(sink.results) == 12)
    assert loads == [4, 4, 4]
    assert all(r.outcome is Outcome.SUBMITTED for r in sink.results)


async def test_send_blocks_while_every_window_is_full(sim: SmscSimulator) -> None:
    """With the window full, send waits until an answer frees a slot (backpressure)."""
    sim.update(response_delay=0.2)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, window=2)), sink) as conn:
        await conn.send(message())
        await conn.send(message())
        started = anyio.current_time()
        await conn.send(message())
        assert anyio.current_time() - started >= 0.15
        await wait_for(lambda: len(sink.results) == 3)


async def test_drain_waits_for_answers_then_unbinds(sim: SmscSimulator) -> None:
    """drain lets outstanding submits finish, unbinds every bind, and refuses later sends."""
    sim.update(response_delay=0.2)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, binds=2)), sink) as conn:
        for _ in range(4):
            await conn.send(message())
        await conn.drain()
        assert [r.outcome for r in sink.results] == [Outcome.SUBMITTED] * 4
        assert sim.stats.unbinds_received == 2
        assert not conn.is_ready()
        with pytest.raises(ConnectorClosed):
            await conn.send(message())


async def test_drain_releases_a_blocked_send(sim: SmscSimulator) -> None:
    """A send waiting for window space raises ConnectorClosed when the connector drains."""
    sim.update(response_delay=0.3)
    sink = FakeSink()
    outcome: list[str] = []

    async def blocked() -> None:
        try:
            await conn.send(message())
        except ConnectorClosed:
            outcome.append("closed")

    async with running(SmppConnector(config(sim.port, window=1)), sink) as conn:
        await conn.send(message())
        async with anyio.create_task_group() as tg:
            tg.start_soon(blocked)
            await anyio.sleep(0.05)
            await conn.drain()
    assert outcome == ["closed"]
    assert len(sink.results) == 1 and sim.stats.submits_received == 1


async def test_cancelled_send_takes_nothing(sim: SmscSimulator) -> None:
    """A send cancelled while waiting for room leaves no job behind."""
    sim.update(response_delay=0.2)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, window=1)), sink) as conn:
        await conn.send(message())
        with anyio.move_on_after(0.05):
            await conn.send(message())
        await wait_for(lambda: len(sink.results) == 1)
        await anyio.sleep(0.3)
    assert sim.stats.submits_received == 1 and len(sink.results) == 1


async def test_metrics_count_submits_and_bind_state(sim: SmscSimulator) -> None:
    """Submit results, the submit latency and the bind state gauge are exported with bounded labels."""
    sink = FakeSink()
    name = "smsc-metrics"
    labels = {"connector": name, "result": "accepted"}
    before = REGISTRY.get_sample_value("gateway_smpp_submits_total", labels) or 0
    async with running(SmppConnector(config(sim.port, name=name)), sink) as conn:
        await conn.send(message())
        await wait_for(lambda: sink.receipts)
        bound = REGISTRY.get_sample_value("gateway_smpp_bind_state", {"connector": name, "bind": "0", "state": "bound"})
        assert bound == 1
        assert REGISTRY.get_sample_value("gateway_smpp_binds_bound", {"connector": name}) == 1
    assert REGISTRY.get_sample_value("gateway_smpp_submits_total", labels) == before + 1
    assert REGISTRY.get_sample_value("gateway_smpp_submit_seconds_count", {"connector": name}) >= 1


async def test_drain_cut_short_still_unbinds(sim: SmscSimulator) -> None:
    """When the caller's deadline ends drain early, the unbind still goes out (shielded) and drain returns."""
    sim.update(response_delay=5.0)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, response_timeout_seconds=10)), sink) as conn:
        await conn.send(message())
        started = anyio.current_time()
        with anyio.move_on_after(0.1):
            await conn.drain()
        assert anyio.current_time() - started < 1.0
        await wait_for(lambda: sim.stats.unbinds_received == 1)
        await wait_for(lambda: sink.results)
    (result,) = sink.results  # the link is gone without its answer
    assert (result.outcome, result.reason) == (Outcome.UNKNOWN, "connection_lost")
