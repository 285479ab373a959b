"""The sans-I/O sessions: bind flow, window, sequence numbers, timers, peer requests, illegal moves."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.smpp.protocol.codec import NEED_DATA, encode
from gateway.smpp.protocol.errors import LocalProtocolError, WindowFullError
from gateway.smpp.protocol.events import (
    AlertReceived,
    BindComplete,
    BindFailed,
    Closed,
    DataSmReceived,
    DeliverResponse,
    DeliverSmReceived,
    Event,
    GenericNackReceived,
    OutbindReceived,
    PeerUnbound,
    ProtocolErrorEvent,
    ResponseTimeout,
    SubmitResponse,
    SubmitSmReceived,
    UnbindComplete,
    UnmatchedResponse,
)
from gateway.smpp.protocol.pdu import (
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from gateway.smpp.protocol.session import MAX_SEQUENCE, EsmeSession, SmscSession
from gateway.smpp.protocol.state import ESME_TRANSITIONS, SMSC_TRANSITIONS, State, Trigger
from gateway.smpp.protocol.status import (
    ESME_RALYBND,
    ESME_RINVBNDSTS,
    ESME_RINVCMDID,
    ESME_RINVCMDLEN,
    ESME_RINVDSTADR,
    ESME_RINVPASWD,
    ESME_RTHROTTLED,
)


def h(*parts: str) -> bytes:
    return bytes.fromhex("".join(parts).replace(" ", ""))


def events(session: Any) -> list[Event]:
    """Drain next_event() until NEED_DATA."""
    out = []
    while (event := session.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def feed(session: Any, pdu: Pdu, now: float = 0.0) -> list[Event]:
    session.receive_data(encode(pdu), now)
    return events(session)


def bound(bind: type[Pdu] = BindTransceiver, **kwargs: Any) -> EsmeSession:
    """An ESME session bound at t=0 with ``bind``; the bind took sequence number 1."""
    session = EsmeSession(**kwargs)
    session.send(bind(system_id="me", password="pw"), 0.0)
    [event] = feed(session, bind(sequence_number=1).response(system_id="SMSC"))
    assert isinstance(event, BindComplete)
    return session


SUBMIT = SubmitSm(destination_addr="821012345678", short_message=b"hi")


# --- bind ------------------------------------------------------------------------------


def test_bind_transceiver_flow_bytes_and_states() -> None:
    """bind_transceiver goes out with seq 1, BINDING until the OK response, then BOUND_TRX."""
    session = EsmeSession()
    assert session.state is State.OPEN
    wire = session.send(BindTransceiver(system_id="me", password="pw"), 0.0)
    assert wire == h(
        "0000001b",  # command_length 27
        "00000009",  # command_id bind_transceiver
        "00000000",  # command_status
        "00000001",  # sequence_number 1: the first
        "6d6500",  # system_id "me\0"
        "707700",  # password "pw\0"
        "00",  # system_type
        "34",  # interface_version
        "00",  # addr_ton
        "00",  # addr_npi
        "00",  # address_range
    )
    assert session.state is State.BINDING
    assert not session.can_submit
    [event] = feed(session, BindTransceiverResp(sequence_number=1, system_id="SMSC"))
    assert isinstance(event, BindComplete)
    assert event.response.system_id == "SMSC"  # type: ignore[attr-defined]
    assert session.state is State.BOUND_TRX
    assert session.can_submit


@pytest.mark.parametrize(
    ("bind", "state"),
    [(BindTransmitter, State.BOUND_TX), (BindReceiver, State.BOUND_RX), (BindTransceiver, State.BOUND_TRX)],
)
def test_each_bind_lands_in_its_state(bind: type[Pdu], state: State) -> None:
    """The bind type sent decides the bound state."""
    assert bound(bind).state is state


def test_bind_refused_returns_to_open() -> None:
    """A bind_resp with an error status is BindFailed and the session can bind again."""
    session = EsmeSession()
    session.send(BindTransmitter(system_id="me", password="bad"), 0.0)
    [event] = feed(session, BindTransmitterResp(sequence_number=1, command_status=ESME_RINVPASWD))
    assert isinstance(event, BindFailed)
    assert event.response.command_status == ESME_RINVPASWD
    assert session.state is State.OPEN
    session.send(BindTransmitter(system_id="me", password="good"), 1.0)
    assert session.state is State.BINDING


def test_generic_nack_to_bind_is_bind_failed() -> None:
    """A generic_nack answering the bind counts as a refusal."""
    session = EsmeSession()
    session.send(BindTransmitter(), 0.0)
    [event] = feed(session, GenericNack(sequence_number=1, command_status=ESME_RINVCMDID))
    assert isinstance(event, BindFailed) and isinstance(event.response, GenericNack)
    assert session.state is State.OPEN


def test_bind_response_of_the_wrong_type_is_unmatched() -> None:
    """A bind_receiver_resp cannot answer a bind_transmitter: reported, bind still pending."""
    session = EsmeSession()
    session.send(BindTransmitter(), 0.0)
    [event] = feed(session, BindReceiverResp(sequence_number=1))
    assert isinstance(event, UnmatchedResponse)
    assert session.state is State.BINDING
    assert session.outstanding == 1


def test_bind_timeout_is_an_error() -> None:
    """No bind_resp before the deadline: ResponseTimeout and ERROR."""
    session = EsmeSession(response_timeout=5.0)
    session.send(BindTransceiver(), 0.0)
    [event] = session.on_timer(5.0)
    assert isinstance(event, ResponseTimeout) and isinstance(event.request, BindTransceiver)
    assert session.state is State.ERROR


# --- submit, window, sequence numbers ------------------------------------------------------


def test_submit_response_matched_with_context() -> None:
    """A submit_sm_resp comes back as SubmitResponse with the request (seq assigned) and its context."""
    session = bound()
    wire = session.send(SUBMIT, 1.0, context="msg-1")
    assert wire[12:16] == h("00000002")  # sequence_number 2, after the bind's 1
    [event] = feed(session, SubmitSmResp(sequence_number=2, message_id="ABC"))
    assert isinstance(event, SubmitResponse)
    assert event.context == "msg-1"
    assert event.request.sequence_number == 2
    assert event.request.destination_addr == "821012345678"  # type: ignore[attr-defined]
    assert event.response.message_id == "ABC"  # type: ignore[attr-defined]
    assert session.window_free == session.window


def test_error_status_submit_response_is_still_a_submit_response() -> None:
    """A throttled submit_sm_resp (empty body) is matched like any answer; the caller classifies it."""
    session = bound()
    session.send(SUBMIT, 1.0, context=7)
    session.receive_data(h("00000010", "80000004", "00000058", "00000002"), 1.1)
    [event] = events(session)
    assert isinstance(event, SubmitResponse) and event.response.command_status == ESME_RTHROTTLED


def test_window_full_raises_and_changes_nothing() -> None:
    """With every slot taken, send() raises WindowFullError; a response frees a slot."""
    session = bound(window=2)
    session.send(SUBMIT, 1.0)
    session.send(SUBMIT, 1.0)
    assert session.window_free == 0
    with pytest.raises(WindowFullError):
        session.send(SUBMIT, 1.0)
    assert session.state is State.BOUND_TRX
    assert session.outstanding == 2
    feed(session, SubmitSmResp(sequence_number=2, message_id="A"))
    assert session.window_free == 1
    assert session.send(SUBMIT, 2.0)[12:16] == h("00000004")  # the refused send used no number


def test_control_pdus_bypass_a_full_window() -> None:
    """enquire_link and unbind still go out when the window is full."""
    session = bound(window=1)
    session.send(SUBMIT, 1.0)
    session.send(EnquireLink(), 1.0)
    session.send(Unbind(), 1.0)
    assert session.state is State.UNBINDING


def test_data_sm_takes_a_window_slot_and_gets_a_submit_response() -> None:
    """data_sm from the ESME is a message: it counts against the window and is answered as SubmitResponse."""
    session = bound(window=1)
    session.send(DataSm(destination_addr="1"), 1.0, context="d")
    assert session.window_free == 0
    [event] = feed(session, DataSmResp(sequence_number=2, message_id="X"))
    assert isinstance(event, SubmitResponse) and event.context == "d"


def test_sequence_numbers_wrap_from_max_to_one() -> None:
    """After 0x7FFFFFFF the next sequence number is 1 (never 0)."""
    session = EsmeSession(first_sequence=MAX_SEQUENCE)
    assert session.send(BindTransceiver(), 0.0)[12:16] == h("7fffffff")
    session.receive_data(encode(BindTransceiverResp(sequence_number=MAX_SEQUENCE)), 0.0)
    events(session)
    assert session.send(SUBMIT, 0.0)[12:16] == h("00000001")
    assert session.send(SUBMIT, 0.0)[12:16] == h("00000002")


def test_response_for_unknown_sequence_is_an_event() -> None:
    """A response nobody waits for is UnmatchedResponse, not a crash; the state is untouched."""
    session = bound()
    [event] = feed(session, SubmitSmResp(sequence_number=777, message_id="late"))
    assert isinstance(event, UnmatchedResponse)
    assert session.state is State.BOUND_TRX


def test_generic_nack_for_a_submit() -> None:
    """generic_nack answering a submit_sm gives the request and context back and frees the slot."""
    session = bound(window=1)
    session.send(SUBMIT, 1.0, context=5)
    [event] = feed(session, GenericNack(sequence_number=2, command_status=ESME_RINVCMDLEN))
    assert isinstance(event, GenericNackReceived)
    assert event.request is not None and event.request.sequence_number == 2
    assert event.context == 5
    assert session.window_free == 1


def test_generic_nack_for_unknown_sequence() -> None:
    """A generic_nack matching nothing (seq 0 for a garbled PDU) is reported with request None."""
    session = bound()
    [event] = feed(session, GenericNack(sequence_number=0, command_status=ESME_RINVCMDLEN))
    assert isinstance(event, GenericNackReceived) and event.request is None


# --- timers ------------------------------------------------------------------------------


def test_response_timeout_via_injected_clock() -> None:
    """A request expires exactly at now + response_timeout; a late answer is then unmatched."""
    session = bound(response_timeout=5.0, enquire_link_interval=None)
    session.send(SUBMIT, 10.0, context="m")
    assert session.next_timer() == 15.0
    assert session.on_timer(14.9) == []
    [event] = session.on_timer(15.0)
    assert event == ResponseTimeout(event.request, "m")
    assert event.sequence_number == 2
    assert session.window_free == session.window
    assert session.next_timer() is None
    [late] = feed(session, SubmitSmResp(sequence_number=2, message_id="A"))
    assert isinstance(late, UnmatchedResponse)


def test_timeouts_come_out_in_send_order() -> None:
    """Several overdue requests expire together, oldest first."""
    session = bound(response_timeout=5.0, enquire_link_interval=None)
    for i in range(3):
        session.send(SUBMIT, float(i), context=i)
    assert [e.context for e in session.on_timer(100.0)] == [0, 1, 2]  # type: ignore[attr-defined]


def test_enquire_link_due_after_idle_interval() -> None:
    """With no traffic for enquire_link_interval, on_timer queues an enquire_link; its answer is silent."""
    session = bound(enquire_link_interval=30.0, response_timeout=5.0)
    assert session.next_timer() == 30.0
    assert session.on_timer(29.9) == []
    assert session.data_to_send() == b""
    assert session.on_timer(30.0) == []
    assert session.data_to_send() == h("00000010", "00000015", "00000000", "00000002")  # enquire_link seq 2
    assert session.next_timer() == 35.0  # now the response deadline
    assert feed(session, EnquireLinkResp(sequence_number=2), now=31.0) == []
    assert session.next_timer() == 61.0  # 30 s after the last bytes received
    assert session.window_free == session.window


def test_received_bytes_postpone_the_keepalive() -> None:
    """Any PDU from the peer resets the idle clock."""
    session = bound(enquire_link_interval=30.0)
    feed(session, SubmitSmResp(sequence_number=99, message_id="x"), now=20.0)
    assert session.next_timer() == 50.0


def test_keepalive_timeout_reports_the_enquire_link() -> None:
    """An unanswered keep-alive is a ResponseTimeout for an EnquireLink: the link is dead."""
    session = bound(enquire_link_interval=30.0, response_timeout=5.0)
    session.on_timer(30.0)
    session.data_to_send()
    [event] = session.on_timer(35.0)
    assert isinstance(event, ResponseTimeout) and isinstance(event.request, EnquireLink)


def test_no_keepalive_before_bind() -> None:
    """An unbound session sends no enquire_link by itself."""
    session = EsmeSession(enquire_link_interval=1.0)
    assert feed(session, EnquireLink(sequence_number=1)) == []  # traffic, but no bind yet
    session.data_to_send()
    assert session.next_timer() is None
    assert session.on_timer(100.0) == []
    assert session.data_to_send() == b""


# --- requests from the peer ---------------------------------------------------------------


def test_peer_enquire_link_answered_automatically() -> None:
    """enquire_link from the SMSC yields no event; enquire_link_resp with its seq waits in data_to_send."""
    session = bound()
    assert feed(session, EnquireLink(sequence_number=99)) == []
    assert session.data_to_send() == h("00000010", "80000015", "00000000", "00000063")  # resp, seq 99


def test_peer_unbind_answered_and_closed() -> None:
    """unbind from the SMSC: PeerUnbound, unbind_resp queued, state CLOSED, then EOF is expected."""
    session = bound()
    [event] = feed(session, Unbind(sequence_number=5))
    assert isinstance(event, PeerUnbound)
    assert session.state is State.CLOSED and session.closed
    assert session.data_to_send() == h("00000010", "80000006", "00000000", "00000005")
    session.receive_data(b"", 1.0)
    assert events(session) == [Closed(expected=True)]


def test_our_unbind_completes() -> None:
    """unbind we send moves to UNBINDING; its response to CLOSED; late submit answers still match."""
    session = bound()
    session.send(SUBMIT, 1.0, context="m")
    session.send(Unbind(), 1.0)
    assert session.state is State.UNBINDING
    [late] = feed(session, SubmitSmResp(sequence_number=2, message_id="A"))
    assert isinstance(late, SubmitResponse)
    [done] = feed(session, UnbindResp(sequence_number=3))
    assert isinstance(done, UnbindComplete)
    assert session.state is State.CLOSED


def test_unbind_timeout_closes() -> None:
    """An unanswered unbind closes the session anyway."""
    session = bound(response_timeout=5.0)
    session.send(Unbind(), 1.0)
    [event] = session.on_timer(6.0)
    assert isinstance(event, ResponseTimeout)
    assert session.state is State.CLOSED


def test_eof_while_bound_is_unexpected_close() -> None:
    """EOF in a bound state: Closed(expected=False) and CLOSED."""
    session = bound()
    session.receive_data(b"", 1.0)
    assert events(session) == [Closed(expected=False)]
    assert session.state is State.CLOSED


def test_deliver_sm_is_not_auto_acked() -> None:
    """A deliver_sm is handed over with nothing sent; only ack_deliver produces the deliver_sm_resp."""
    session = bound()
    receipt = DeliverSm(sequence_number=40, source_addr="8210", esm_class=4, short_message=b"id:1 stat:DELIVRD")
    [event] = feed(session, receipt)
    assert event == DeliverSmReceived(receipt)
    assert session.data_to_send() == b""
    assert session.on_timer(1.0) == [] and session.data_to_send() == b""
    assert session.ack_deliver(event.pdu) == h("00000011", "80000005", "00000000", "00000028", "00")
    with pytest.raises(LocalProtocolError):
        session.ack_deliver(event.pdu)  # twice is a bug
    assert session.state is State.ERROR


def test_ack_deliver_with_error_status() -> None:
    """The caller can refuse a deliver_sm (e.g. storage failed) with a status of its choice."""
    session = bound()
    [event] = feed(session, DeliverSm(sequence_number=41))
    wire = session.ack_deliver(event.pdu, 0x64)  # type: ignore[attr-defined]
    assert wire == h("00000011", "80000005", "00000064", "00000029", "00")


def test_ack_after_peer_unbind_still_allowed() -> None:
    """A receipt stored after the peer unbound can still be acked (the bytes may be dropped)."""
    session = bound()
    [event] = feed(session, DeliverSm(sequence_number=42))
    feed(session, Unbind(sequence_number=43))
    assert session.ack_deliver(event.pdu)[12:16] == h("0000002a")  # type: ignore[attr-defined]


def test_data_sm_from_smsc_acked_with_data_sm_resp() -> None:
    """An incoming data_sm is an event answered by ack_deliver with a data_sm_resp."""
    session = bound()
    [event] = feed(session, DataSm(sequence_number=50))
    assert isinstance(event, DataSmReceived)
    assert session.ack_deliver(event.pdu)[4:8] == h("80000103")


def test_deliver_sm_on_transmitter_bind_refused() -> None:
    """deliver_sm to a transmitter-only bind is answered ESME_RINVBNDSTS and reported."""
    session = bound(BindTransmitter)
    [event] = feed(session, DeliverSm(sequence_number=44))
    assert isinstance(event, ProtocolErrorEvent) and event.error.error_status == ESME_RINVBNDSTS
    assert session.data_to_send() == h("00000011", "80000005", "00000004", "0000002c", "00")
    assert session.state is State.BOUND_TX


def test_outbind_and_alert() -> None:
    """outbind while OPEN and alert_notification while bound come out as events, unanswered."""
    session = EsmeSession()
    [event] = feed(session, Outbind(sequence_number=1, system_id="smsc"))
    assert isinstance(event, OutbindReceived)
    session = bound(BindReceiver)
    [alert] = feed(session, AlertNotification(sequence_number=3, source_addr="8210"))
    assert isinstance(alert, AlertReceived)
    assert session.data_to_send() == b""


def test_smsc_only_request_is_refused() -> None:
    """A submit_sm sent *to* an ESME gets submit_sm_resp ESME_RINVCMDID with its seq."""
    session = bound()
    [event] = feed(session, SubmitSm(sequence_number=45))
    assert isinstance(event, ProtocolErrorEvent) and event.error.error_status == ESME_RINVCMDID
    assert session.data_to_send() == h("00000011", "80000004", "00000003", "0000002d", "00")


def test_esme_only_request_without_response_is_nacked_by_smsc() -> None:
    """An outbind sent *to* an SMSC has no *_resp: it gets generic_nack ESME_RINVCMDID."""
    smsc = _smsc()
    [event] = feed(smsc, Outbind(sequence_number=46))
    assert isinstance(event, ProtocolErrorEvent)
    assert smsc.data_to_send() == h("00000010", "80000000", "00000003", "0000002e")


def test_unknown_command_id_nacked_and_session_continues() -> None:
    """An unknown command_id: generic_nack ESME_RINVCMDID with the seq, then the next PDU is handled."""
    session = bound()
    session.receive_data(h("00000010", "00000021", "00000000", "00000010"), 1.0)  # submit_multi, seq 16
    session.receive_data(encode(EnquireLink(sequence_number=17)), 1.0)
    [event] = events(session)
    assert isinstance(event, ProtocolErrorEvent) and event.error.command_id == 0x21
    assert session.data_to_send() == (
        h("00000010", "80000000", "00000003", "00000010")  # generic_nack RINVCMDID seq 16
        + h("00000010", "80000015", "00000000", "00000011")  # enquire_link_resp seq 17
    )
    assert session.state is State.BOUND_TRX


def test_invalid_deliver_sm_answered_with_field_status() -> None:
    """A deliver_sm with an invalid destination_addr gets deliver_sm_resp ESME_RINVDSTADR, not an event."""
    session = bound()
    wire = encode(DeliverSm(sequence_number=46, destination_addr="1" * 20)).replace(b"1" * 20, b"1" * 20 + b"1", 1)
    session.receive_data(len(wire).to_bytes(4, "big") + wire[4:], 1.0)
    [event] = events(session)
    assert isinstance(event, ProtocolErrorEvent) and not event.error.fatal
    assert session.data_to_send() == h("00000011", "80000005", "0000000b", "0000002e", "00")
    assert event.error.error_status == ESME_RINVDSTADR


def test_over_long_pdu_from_peer_is_fatal() -> None:
    """A header announcing an over-long PDU: generic_nack ESME_RINVCMDLEN, ERROR, later bytes ignored."""
    session = bound(max_pdu_size=1024)
    session.receive_data(h("00100000", "00000005", "00000000", "00000007"), 1.0)
    [event] = events(session)
    assert isinstance(event, ProtocolErrorEvent) and event.error.fatal
    assert session.state is State.ERROR
    assert session.data_to_send() == h("00000010", "80000000", "00000002", "00000007")
    session.receive_data(encode(EnquireLink(sequence_number=8)), 2.0)
    assert events(session) == []


# --- illegal moves ------------------------------------------------------------------------


def _in_state(state: State) -> EsmeSession:
    session = EsmeSession()
    if state is State.OPEN:
        return session
    if state is State.BINDING:
        session.send(BindTransceiver(), 0.0)
        return session
    if state in (State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX):
        bind = {State.BOUND_TX: BindTransmitter, State.BOUND_RX: BindReceiver, State.BOUND_TRX: BindTransceiver}
        return bound(bind[state])
    session = bound()
    session.send(Unbind(), 0.0)
    if state is State.CLOSED:
        feed(session, UnbindResp(sequence_number=2))
    assert session.state is state
    return session


@pytest.mark.parametrize(
    ("state", "pdu"),
    [
        (State.OPEN, SUBMIT),
        (State.OPEN, Unbind()),
        (State.BINDING, SUBMIT),
        (State.BINDING, BindTransmitter()),
        (State.BOUND_RX, SUBMIT),
        (State.BOUND_TX, BindTransceiver()),
        (State.UNBINDING, SUBMIT),
        (State.CLOSED, SUBMIT),
        (State.CLOSED, EnquireLink()),
        (State.BOUND_TRX, DeliverSm()),  # an SMSC operation
        (State.BOUND_TRX, SubmitSmResp()),  # answers go through ack_deliver
    ],
)
def test_illegal_send_raises_and_moves_to_error(state: State, pdu: Pdu) -> None:
    """Sending what the table does not allow raises LocalProtocolError and leaves the session in ERROR."""
    session = _in_state(state)
    with pytest.raises(LocalProtocolError):
        session.send(pdu, 1.0)
    assert session.state is State.ERROR
    with pytest.raises(LocalProtocolError):
        session.send(EnquireLink(), 1.0)  # ERROR is terminal


def test_error_session_ignores_input() -> None:
    """Once in ERROR, received bytes produce no events and no answers."""
    session = _in_state(State.OPEN)
    with pytest.raises(LocalProtocolError):
        session.send(SUBMIT, 0.0)
    session.receive_data(encode(EnquireLink(sequence_number=1)), 0.0)
    assert events(session) == [] and session.data_to_send() == b""


def test_tables_only_name_real_states() -> None:
    """Every table entry goes between State members by a Trigger, and ERROR/CLOSED are never left."""
    for table in (ESME_TRANSITIONS, SMSC_TRANSITIONS):
        for (state, trigger), target in table.items():
            assert isinstance(state, State) and isinstance(trigger, Trigger) and isinstance(target, State)
            assert state is not State.ERROR
            if state is State.CLOSED:
                assert target in (State.CLOSED, State.ERROR)


def test_connection_lost_returns_unanswered_requests() -> None:
    """connection_lost() hands back every unanswered request with its context, without the keep-alive."""
    session = bound(enquire_link_interval=1.0)
    session.send(SUBMIT, 0.5, context="a")
    session.on_timer(2.0)  # keep-alive goes out
    session.send(SUBMIT, 2.0, context="b")
    lost = session.connection_lost()
    assert [out.context for out in lost] == ["a", "b"]
    assert session.state is State.CLOSED
    assert session.outstanding == 0 and session.next_timer() is None


# --- SMSC side ----------------------------------------------------------------------------


def _smsc(**kwargs: Any) -> SmscSession:
    return SmscSession(authenticate=lambda bind: 0 if bind.password == "pw" else ESME_RINVPASWD, **kwargs)


def test_smsc_accepts_bind_with_good_credentials() -> None:
    """bind with the right password: bind_resp OK with system_id and sc_interface_version."""
    smsc = _smsc(system_id="SIM")
    [event] = feed(smsc, BindTransmitter(sequence_number=1, system_id="me", password="pw"))
    assert isinstance(event, BindComplete)
    assert smsc.state is State.BOUND_TX and smsc.bound_system_id == "me"
    assert smsc.data_to_send() == h(
        "00000019", "80000002", "00000000", "00000001",  # header: 25, bind_transmitter_resp, OK, seq 1
        "53494d00",  # system_id "SIM\0"
        "0210 0001 34",  # sc_interface_version 3.4
    )  # fmt: skip


def test_smsc_refuses_bad_password_then_already_bound() -> None:
    """Bad credentials: bind_resp with the callback's status; a second bind once bound: ESME_RALYBND."""
    smsc = _smsc()
    [refused] = feed(smsc, BindTransceiver(sequence_number=1, password="no"))
    assert isinstance(refused, BindFailed) and smsc.state is State.OPEN
    assert smsc.data_to_send()[8:12] == h("0000000e")
    feed(smsc, BindTransceiver(sequence_number=2, password="pw"))
    smsc.data_to_send()
    [again] = feed(smsc, BindReceiver(sequence_number=3, password="pw"))
    assert isinstance(again, ProtocolErrorEvent)
    assert smsc.data_to_send()[8:12] == ESME_RALYBND.to_bytes(4, "big")


def test_smsc_refuses_submit_before_bind() -> None:
    """submit_sm on an unbound connection: submit_sm_resp ESME_RINVBNDSTS."""
    smsc = _smsc()
    [event] = feed(smsc, SubmitSm(sequence_number=1))
    assert isinstance(event, ProtocolErrorEvent)
    assert smsc.data_to_send()[4:12] == h("80000004", "00000004")


def test_esme_and_smsc_talk_to_each_other() -> None:
    """Bytes piped between the two sessions: bind, submit with generated id, receipt, ack, unbind."""
    esme, smsc = EsmeSession(), _smsc(system_id="SIM")

    def pipe(data: bytes, to: Any) -> list[Event]:
        to.receive_data(data, 0.0)
        return events(to)

    [_smsc_bind] = pipe(esme.send(BindTransceiver(system_id="me", password="pw"), 0.0), smsc)
    assert isinstance(pipe(smsc.data_to_send(), esme)[0], BindComplete)
    [submitted] = pipe(esme.send(SUBMIT, 0.0, context="m1"), smsc)
    assert isinstance(submitted, SubmitSmReceived)
    [answer] = pipe(smsc.ack_submit(submitted.pdu), esme)
    assert isinstance(answer, SubmitResponse) and answer.response.message_id == "0000000001"  # type: ignore[attr-defined]
    receipt = DeliverSm(esm_class=4, short_message=b"id:0000000001 stat:DELIVRD")
    [delivered] = pipe(smsc.send(receipt, 0.0, context="r"), esme)
    assert isinstance(delivered, DeliverSmReceived)
    [acked] = pipe(esme.ack_deliver(delivered.pdu), smsc)
    assert isinstance(acked, DeliverResponse) and acked.context == "r"
    assert isinstance(acked.response, DeliverSmResp)
    [unbound] = pipe(esme.send(Unbind(), 0.0), smsc)
    assert isinstance(unbound, PeerUnbound)
    assert isinstance(pipe(smsc.data_to_send(), esme)[0], UnbindComplete)
    assert esme.state is State.CLOSED and smsc.state is State.CLOSED


def test_smsc_cannot_deliver_to_a_transmitter() -> None:
    """The SMSC sending deliver_sm on a transmitter bind is a local error."""
    smsc = _smsc()
    feed(smsc, BindTransmitter(sequence_number=1, password="pw"))
    with pytest.raises(LocalProtocolError):
        smsc.send(DeliverSm(), 0.0)
