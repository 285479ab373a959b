"""The sans-I/O SMPP session: bind state, sequence numbers, window, timers (h11 ``Connection`` style).

A session turns bytes into events and PDUs into bytes; it never touches a
socket or reads a clock (every method that cares about time takes ``now``, a
monotonic float in seconds). ``EsmeSession`` is our client side; ``SmscSession``
is the small server side our simulator uses. Both share the codec, the window
and the timers, and differ in their transition table and in which requests
they send and answer.

Driving a session (the transport's loop)::

    data = session.send(SubmitSm(...), now, context=msg_id)   # write data
    session.receive_data(chunk, now)                           # b"" on EOF
    while (event := session.next_event()) is not NEED_DATA:
        handle(event)                                          # may call ack_deliver(...)
    write(session.data_to_send())       # automatic answers: enquire_link_resp, unbind_resp, nacks
    ...
    at session.next_timer(): events = session.on_timer(now); write(session.data_to_send())
    at teardown: for lost in session.connection_lost(): outcome unknown

Bytes the caller asked for are returned by ``send`` / ``ack_*``; bytes the
session decided on by itself (enquire_link_resp, unbind_resp, generic_nack,
refusals, keep-alive enquire_link) wait in ``data_to_send()``.

States, triggers and the transition tables live in
``gateway.smpp.protocol.state`` (the tables decide every move); the
events a session reports are in ``gateway.smpp.protocol.events``. This module
holds the session objects: codec, sequence numbers, window, timers, outbox.

Hard rule: an ESME session never acknowledges a deliver_sm by itself. The
caller stores the receipt, then calls ``ack_deliver(pdu)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from gateway.smpp.protocol.codec import DEFAULT_MAX_PDU_SIZE, NEED_DATA, Decoder, NeedData, encode
from gateway.smpp.protocol.errors import LocalProtocolError, RemoteProtocolError, WindowFullError
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
    QueryResponse,
    QuerySmReceived,
    ResponseTimeout,
    SubmitResponse,
    SubmitSmReceived,
    UnbindComplete,
    UnmatchedResponse,
)
from gateway.smpp.protocol.pdu import (
    PDU_CLASSES,
    AlertNotification,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DataSm,
    DeliverSm,
    EnquireLink,
    GenericNack,
    Outbind,
    Pdu,
    QuerySm,
    SubmitSm,
    Unbind,
)
from gateway.smpp.protocol.state import (
    BIND_TRIGGERS,
    BOUND_STATES,
    ESME_TRANSITIONS,
    SMSC_TRANSITIONS,
    State,
    Trigger,
)
from gateway.smpp.protocol.status import ESME_RALYBND, ESME_RINVBNDSTS, ESME_RINVCMDID, ESME_ROK
from gateway.smpp.protocol.tlv import Tlvs

__all__ = ["MAX_SEQUENCE", "EsmeSession", "Outstanding", "SmscSession"]

MAX_SEQUENCE = 0x7FFFFFFF  # sequence numbers run 1..MAX_SEQUENCE, then wrap to 1


@dataclass(frozen=True, slots=True)
class Outstanding:
    """A request waiting for its response."""

    request: Pdu
    context: Any
    deadline: float
    in_window: bool  # counts against the window (message PDUs do; bind/unbind/enquire_link do not)
    internal: bool = False  # the session's own keep-alive enquire_link


class _Session:
    """What both sides share: codec, state table, sequence numbers, window, timers, outbox."""

    TRANSITIONS: ClassVar[dict[tuple[State, Trigger], State]]
    _SEND_TRIGGERS: ClassVar[dict[type[Pdu], Trigger]]  # requests this side may send
    _MESSAGE_TRIGGER: ClassVar[Trigger]  # sends of this trigger count against the window
    # requests this side takes from the peer (besides enquire_link, unbind): trigger, event, must we answer
    _RECEIVES: ClassVar[dict[type[Pdu], tuple[Trigger, Callable[[Any], Event], bool]]]

    def __init__(
        self,
        *,
        window: int = 10,
        response_timeout: float = 30.0,
        enquire_link_interval: float | None = 30.0,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        first_sequence: int = 1,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        if response_timeout <= 0 or (enquire_link_interval is not None and enquire_link_interval <= 0):
            raise ValueError("timeouts and intervals must be positive")
        if not 1 <= first_sequence <= MAX_SEQUENCE:
            raise ValueError(f"first_sequence must be in 1..{MAX_SEQUENCE}")
        self.window = window
        self.response_timeout = response_timeout
        self.enquire_link_interval = enquire_link_interval
        self._decoder = Decoder(max_pdu_size=max_pdu_size)
        self._state = State.OPEN
        self._next_seq = first_sequence
        self._pending: dict[int, Outstanding] = {}  # insertion order = deadline order
        self._in_window = 0
        self._keepalive_seq: int | None = None
        self._owed: dict[int, int] = {}  # peer requests we must answer: seq -> count
        self._outbox: list[bytes] = []
        self._last_rx: float | None = None
        self._eof = False

    # -- state ----------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def closed(self) -> bool:
        """True in CLOSED or ERROR: the connection should be closed."""
        return self._state in (State.CLOSED, State.ERROR)

    @property
    def window_free(self) -> int:
        """How many more message PDUs ``send`` takes before raising ``WindowFullError``."""
        return self.window - self._in_window

    @property
    def outstanding(self) -> int:
        """Requests sent and not yet answered (including bind/unbind/enquire_link)."""
        return len(self._pending)

    def _fire(self, trigger: Trigger) -> None:
        """A trigger we cause: not in the table -> LocalProtocolError and ERROR."""
        new = self.TRANSITIONS.get((self._state, trigger))
        if new is None:
            old = self._state
            self._state = State.ERROR
            raise LocalProtocolError(f"{trigger.name} is not allowed in state {old.name}", error_status=ESME_RINVBNDSTS)
        self._state = new

    def _allow(self, trigger: Trigger) -> bool:
        """A trigger the peer or the clock causes: move if the table allows it, else report False."""
        new = self.TRANSITIONS.get((self._state, trigger))
        if new is None:
            return False
        self._state = new
        return True

    # -- sending --------------------------------------------------------------

    def send(self, pdu: Pdu, now: float, *, context: Any = None) -> bytes:
        """Assign the next sequence number to request ``pdu``, track it, return its bytes.

        ``context`` comes back in the response / timeout event. Message PDUs
        (submit_sm, data_sm, deliver_sm) take a window slot: ``WindowFullError``
        if none is free (nothing changes). Answers go through ``ack_*`` instead.
        """
        trigger = self._SEND_TRIGGERS.get(type(pdu))
        if trigger is None:
            self._state = State.ERROR
            raise LocalProtocolError(f"{type(self).__name__} cannot send {pdu.command_name} with send()")
        in_window = trigger is self._MESSAGE_TRIGGER
        if in_window and self._in_window >= self.window:
            raise WindowFullError(f"all {self.window} window slots hold unanswered requests")
        self._fire(trigger)
        return self._send_request(pdu, now, context, in_window=in_window)

    def _send_request(self, pdu: Pdu, now: float, context: Any, *, in_window: bool, internal: bool = False) -> bytes:
        seq = self._take_sequence()
        pdu = pdu.renumbered(seq)
        if pdu._RESPONSE is not None:
            self._pending[seq] = Outstanding(pdu, context, now + self.response_timeout, in_window, internal)
            self._in_window += in_window
            if internal:
                self._keepalive_seq = seq
        return encode(pdu)

    def _take_sequence(self) -> int:
        seq = self._next_seq
        while seq in self._pending:  # only after a full wrap with a request still outstanding
            seq = 1 if seq >= MAX_SEQUENCE else seq + 1
        self._next_seq = 1 if seq >= MAX_SEQUENCE else seq + 1
        return seq

    def _answer(self, request: Pdu, response: Pdu) -> bytes:
        seq = request.sequence_number
        owed = self._owed.get(seq)
        if not owed:
            self._state = State.ERROR
            raise LocalProtocolError(f"{request.command_name} seq {seq} is not awaiting an answer (answered twice?)")
        self._fire(Trigger.ANSWER)
        if owed == 1:
            del self._owed[seq]
        else:
            self._owed[seq] = owed - 1
        return encode(response)

    def data_to_send(self) -> bytes:
        """Bytes the session produced by itself since the last call (answers, nacks, keep-alives)."""
        data = b"".join(self._outbox)
        self._outbox.clear()
        return data

    # -- receiving ------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes from the peer; ``b""`` means the peer closed the connection."""
        if self._state is State.ERROR:
            return
        if not data:
            self._eof = True
            return
        self._last_rx = now
        self._decoder.receive_data(data)

    def next_event(self) -> Event | Literal[NeedData.NEED_DATA]:
        """The next event from the bytes received, or ``NEED_DATA``."""
        while True:
            if self._state is State.ERROR:
                return NEED_DATA
            try:
                pdu = self._decoder.next_pdu()
            except RemoteProtocolError as exc:
                return self._on_remote_error(exc)
            if pdu is NEED_DATA:
                if self._eof:
                    self._eof = False
                    expected = self._state is State.CLOSED
                    self._allow(Trigger.PEER_CLOSED)
                    return Closed(expected=expected)
                return NEED_DATA
            event = self._on_response(pdu) if pdu.is_response else self._on_request(pdu)
            if event is not None:
                return event

    def _queue(self, pdu: Pdu) -> None:
        self._outbox.append(encode(pdu))

    def _refuse(self, pdu: Pdu, status: int, why: str, *, nack: bool = False) -> ProtocolErrorEvent:
        """Answer a request we will not take (its *_resp with ``status``, or generic_nack) and report it."""
        if nack:
            self._queue(GenericNack(sequence_number=pdu.sequence_number, command_status=status))
        elif pdu._RESPONSE is not None:
            self._queue(pdu.response(status))
        return ProtocolErrorEvent(
            RemoteProtocolError(
                why, error_status=status, sequence_number=pdu.sequence_number, command_id=pdu.command_id
            )
        )

    def _on_remote_error(self, exc: RemoteProtocolError) -> ProtocolErrorEvent:
        seq = exc.sequence_number or 0
        cls = PDU_CLASSES.get(exc.command_id) if exc.command_id is not None else None
        if exc.fatal or cls is None:
            self._queue(GenericNack(sequence_number=seq, command_status=exc.error_status))
        elif cls._RESPONSE is not None:
            self._queue(cls._RESPONSE(sequence_number=seq, command_status=exc.error_status))
        if exc.fatal:
            self._allow(Trigger.REMOTE_FATAL)
        return ProtocolErrorEvent(exc)

    def _on_request(self, pdu: Pdu) -> Event | None:
        if isinstance(pdu, EnquireLink):
            if not self._allow(Trigger.RECV_ENQUIRE):
                return self._refuse(pdu, ESME_RINVBNDSTS, f"enquire_link in state {self._state.name}")
            self._queue(pdu.response())
            return None
        if isinstance(pdu, Unbind):
            if not self._allow(Trigger.RECV_UNBIND):
                return self._refuse(pdu, ESME_RINVBNDSTS, f"unbind in state {self._state.name}")
            self._queue(pdu.response())
            return PeerUnbound(pdu)
        entry = self._RECEIVES.get(type(pdu))
        if entry is None:
            return self._on_other_request(pdu)
        trigger, event, must_answer = entry
        if not self._allow(trigger):
            return self._refuse(pdu, ESME_RINVBNDSTS, f"{pdu.command_name} in state {self._state.name}")
        if must_answer:
            self._owe(pdu)
        return event(pdu)

    def _on_other_request(self, pdu: Pdu) -> Event | None:
        """A request meant for the other role (submit_sm to an ESME...): ESME_RINVCMDID."""
        why = f"{pdu.command_name} is not taken by {type(self).__name__}"
        return self._refuse(pdu, ESME_RINVCMDID, why, nack=pdu._RESPONSE is None)

    def _owe(self, pdu: Pdu) -> None:
        seq = pdu.sequence_number
        self._owed[seq] = self._owed.get(seq, 0) + 1

    def _on_response(self, pdu: Pdu) -> Event | None:
        seq = pdu.sequence_number
        out = self._pending.get(seq)
        if out is None or not (type(pdu) is GenericNack or type(pdu) is out.request._RESPONSE):
            return GenericNackReceived(pdu) if type(pdu) is GenericNack else UnmatchedResponse(pdu)
        del self._pending[seq]
        self._in_window -= out.in_window
        request = out.request
        if out.internal or isinstance(request, EnquireLink):
            if out.internal:
                self._keepalive_seq = None
            return GenericNackReceived(pdu, request, out.context) if type(pdu) is GenericNack else None
        if isinstance(request, Unbind):
            self._allow(Trigger.UNBIND_DONE)
            return UnbindComplete(pdu)
        if type(request) in BIND_TRIGGERS:
            if pdu.command_status == ESME_ROK and type(pdu) is not GenericNack:
                self._allow(BIND_TRIGGERS[type(request)][1])
                return BindComplete(request, pdu)
            self._allow(Trigger.BIND_REFUSED)
            return BindFailed(request, pdu)
        if type(pdu) is GenericNack:
            return GenericNackReceived(pdu, request, out.context)
        return self._message_response(request, pdu, out.context)

    def _message_response(self, request: Pdu, response: Pdu, context: Any) -> Event:
        raise NotImplementedError

    # -- timers ---------------------------------------------------------------

    def _keepalive_due(self) -> float | None:
        if (
            self.enquire_link_interval is None
            or self._keepalive_seq is not None
            or self._state not in BOUND_STATES
            or self._last_rx is None
        ):
            return None
        return self._last_rx + self.enquire_link_interval

    def next_timer(self) -> float | None:
        """When ``on_timer`` should next be called (same clock as ``now``), or None if nothing is due."""
        deadlines = [self._keepalive_due()]
        if self._pending:
            deadlines.append(next(iter(self._pending.values())).deadline)
        return min((d for d in deadlines if d is not None), default=None)

    def on_timer(self, now: float) -> list[Event]:
        """Expire overdue requests (``ResponseTimeout`` events) and queue a keep-alive enquire_link if due."""
        events: list[Event] = []
        while self._pending:
            seq, out = next(iter(self._pending.items()))
            if out.deadline > now:
                break
            del self._pending[seq]
            self._in_window -= out.in_window
            if out.internal:
                self._keepalive_seq = None
            if isinstance(out.request, Unbind):
                self._allow(Trigger.UNBIND_DONE)
            elif type(out.request) in BIND_TRIGGERS:
                self._allow(Trigger.BIND_TIMEOUT)
            events.append(ResponseTimeout(out.request, out.context))
        due = self._keepalive_due()
        if due is not None and now >= due and not self.closed:
            self._outbox.append(self._send_request(EnquireLink(), now, None, in_window=False, internal=True))
        return events

    def connection_lost(self) -> tuple[Outstanding, ...]:
        """The transport is gone: return (and forget) every request that never got an answer."""
        lost = tuple(out for out in self._pending.values() if not out.internal)
        self._pending.clear()
        self._in_window = 0
        self._keepalive_seq = None
        self._allow(Trigger.PEER_CLOSED)
        return lost


class EsmeSession(_Session):
    """Our side of an SMPP link: bind, submit, receive deliver_sm (acked only by ``ack_deliver``)."""

    TRANSITIONS = ESME_TRANSITIONS
    _SEND_TRIGGERS: ClassVar[dict[type[Pdu], Trigger]] = {
        BindTransmitter: Trigger.SEND_BIND_TX,
        BindReceiver: Trigger.SEND_BIND_RX,
        BindTransceiver: Trigger.SEND_BIND_TRX,
        SubmitSm: Trigger.SEND_SUBMIT,
        DataSm: Trigger.SEND_SUBMIT,
        QuerySm: Trigger.SEND_SUBMIT,  # allowed where submits are, and takes a window slot like one
        EnquireLink: Trigger.SEND_ENQUIRE,
        Unbind: Trigger.SEND_UNBIND,
    }
    _MESSAGE_TRIGGER = Trigger.SEND_SUBMIT
    _RECEIVES: ClassVar[dict[type[Pdu], tuple[Trigger, Callable[[Any], Event], bool]]] = {
        DeliverSm: (Trigger.RECV_DELIVER, DeliverSmReceived, True),
        DataSm: (Trigger.RECV_DELIVER, DataSmReceived, True),
        AlertNotification: (Trigger.RECV_ALERT, AlertReceived, False),
        Outbind: (Trigger.RECV_OUTBIND, OutbindReceived, False),
    }

    @property
    def can_submit(self) -> bool:
        return self._state in (State.BOUND_TX, State.BOUND_TRX)

    def ack_deliver(self, pdu: DeliverSm | DataSm, status: int = ESME_ROK) -> bytes:
        """The deliver_sm_resp / data_sm_resp for ``pdu``; call it only once ``pdu`` is stored."""
        return self._answer(pdu, pdu.response(status))

    def _message_response(self, request: Pdu, response: Pdu, context: Any) -> Event:
        if type(request) is QuerySm:
            return QueryResponse(request, response, context)
        return SubmitResponse(request, response, context)


class SmscSession(_Session):
    """A minimal SMSC side for our simulator: accepts binds, takes submits, sends deliver_sm.

    ``authenticate(bind_pdu)`` returns the command_status to answer the bind
    with (ESME_ROK accepts). Binds are answered at once; submit_sm / data_sm
    come out as events and are answered with ``ack_submit``.
    """

    TRANSITIONS = SMSC_TRANSITIONS
    _SEND_TRIGGERS: ClassVar[dict[type[Pdu], Trigger]] = {
        DeliverSm: Trigger.SEND_DELIVER,
        DataSm: Trigger.SEND_DELIVER,
        Outbind: Trigger.SEND_OUTBIND,
        EnquireLink: Trigger.SEND_ENQUIRE,
        Unbind: Trigger.SEND_UNBIND,
    }
    _MESSAGE_TRIGGER = Trigger.SEND_DELIVER
    _RECEIVES: ClassVar[dict[type[Pdu], tuple[Trigger, Callable[[Any], Event], bool]]] = {
        SubmitSm: (Trigger.RECV_SUBMIT, SubmitSmReceived, True),
        DataSm: (Trigger.RECV_SUBMIT, DataSmReceived, True),
        QuerySm: (Trigger.RECV_SUBMIT, QuerySmReceived, True),
    }

    def __init__(
        self,
        *,
        authenticate: Callable[[Pdu], int],
        system_id: str = "SMSC",
        message_id_factory: Callable[[], str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.system_id = system_id
        self._authenticate = authenticate
        self._message_ids = message_id_factory or self._counter_ids()
        self.bound_system_id: str | None = None

    @staticmethod
    def _counter_ids() -> Callable[[], str]:
        counter = iter(range(1, 1 << 62))
        return lambda: f"{next(counter):010X}"

    def ack_submit(self, pdu: SubmitSm | DataSm, status: int = ESME_ROK, message_id: str | None = None) -> bytes:
        """The submit_sm_resp / data_sm_resp for ``pdu``; a generated message_id when accepted and none given."""
        if message_id is None:
            message_id = self._message_ids() if status == ESME_ROK else ""
        return self._answer(pdu, pdu.response(status, message_id=message_id))

    def ack_query(
        self, pdu: QuerySm, status: int = ESME_ROK, *, message_state: int = 0, final_date: str = "", error_code: int = 0
    ) -> bytes:
        """The query_sm_resp for ``pdu``: the message's state, when it became final, its network error code."""
        if status != ESME_ROK:
            return self._answer(pdu, pdu.response(status))
        response = pdu.response(
            message_id=pdu.message_id, final_date=final_date, message_state=message_state, error_code=error_code
        )
        return self._answer(pdu, response)

    def _on_other_request(self, pdu: Pdu) -> Event | None:
        if type(pdu) not in BIND_TRIGGERS:
            return super()._on_other_request(pdu)
        accepted = BIND_TRIGGERS[type(pdu)][1]
        if (self._state, accepted) not in self.TRANSITIONS:
            status: int = ESME_RALYBND if self._state in BOUND_STATES else ESME_RINVBNDSTS
            return self._refuse(pdu, status, f"{pdu.command_name} in state {self._state.name}")
        status = self._authenticate(pdu)
        if status != ESME_ROK:
            response = pdu.response(status)
            self._allow(Trigger.BIND_REFUSED)
            self._queue(response)
            return BindFailed(pdu, response)
        response = pdu.response(system_id=self.system_id, tlvs=Tlvs(sc_interface_version=0x34))
        self._allow(accepted)
        self.bound_system_id = pdu.system_id  # type: ignore[attr-defined]
        self._queue(response)
        return BindComplete(pdu, response)

    def _message_response(self, request: Pdu, response: Pdu, context: Any) -> Event:
        return DeliverResponse(request, response, context)
