"""Everything that moves an SMPP session between states (h11 ``_state.py``): states, triggers, the tables.

A session is in one ``State``; a ``Trigger`` (something we send, something the
peer sends, a timer, the connection's end) moves it, and the only moves there
are sit in the two tables below, keyed by ``(state, trigger)``:
``ESME_TRANSITIONS`` for our client side, ``SMSC_TRANSITIONS`` for the small
server side the simulator uses. ``gateway.smpp.protocol.session`` consults them:

- a trigger *we* cause that is not in the table raises ``LocalProtocolError``
  and moves the session to ERROR;
- a request *the peer* sends that is not in the table is refused on the wire
  (ESME_RINVBNDSTS / ESME_RALYBND) and reported as a ``ProtocolErrorEvent``,
  leaving the state alone.

CLOSED (orderly: unbind done, EOF) and ERROR (the protocol broke) are terminal:
close the connection. ``BIND_TRIGGERS`` says which triggers each bind PDU
fires (sending it, and being bound by it).
"""

from __future__ import annotations

import enum

from gateway.smpp.protocol.pdu import BindReceiver, BindTransceiver, BindTransmitter, Pdu

__all__ = ["BIND_TRIGGERS", "BOUND_STATES", "ESME_TRANSITIONS", "SMSC_TRANSITIONS", "State", "Trigger"]


class State(enum.Enum):
    OPEN = "open"  # connected, not bound
    BINDING = "binding"  # bind sent, no answer yet (ESME only)
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"  # we sent unbind, no answer yet
    CLOSED = "closed"  # orderly end: close the connection
    ERROR = "error"  # the protocol broke: close the connection


class Trigger(enum.Enum):
    """What can move a session from one state to another."""

    SEND_BIND_TX = enum.auto()
    SEND_BIND_RX = enum.auto()
    SEND_BIND_TRX = enum.auto()
    BOUND_AS_TX = enum.auto()  # ESME: bind_transmitter_resp OK; SMSC: bind_transmitter accepted
    BOUND_AS_RX = enum.auto()
    BOUND_AS_TRX = enum.auto()
    BIND_REFUSED = enum.auto()  # ESME: error status or generic_nack; SMSC: credentials refused
    BIND_TIMEOUT = enum.auto()
    SEND_SUBMIT = enum.auto()  # ESME -> SMSC message: submit_sm, data_sm
    RECV_SUBMIT = enum.auto()
    SEND_DELIVER = enum.auto()  # SMSC -> ESME message: deliver_sm, data_sm
    RECV_DELIVER = enum.auto()
    RECV_ALERT = enum.auto()
    SEND_OUTBIND = enum.auto()
    RECV_OUTBIND = enum.auto()
    ANSWER = enum.auto()  # we answer a request the peer sent (ack_deliver / ack_submit)
    SEND_ENQUIRE = enum.auto()
    RECV_ENQUIRE = enum.auto()
    SEND_UNBIND = enum.auto()
    RECV_UNBIND = enum.auto()
    UNBIND_DONE = enum.auto()  # unbind_resp, generic_nack or timeout
    PEER_CLOSED = enum.auto()  # EOF, or the transport says the connection is gone
    REMOTE_FATAL = enum.auto()  # the peer's bytes lost their framing


S, T = State, Trigger
BOUND_STATES = (S.BOUND_TX, S.BOUND_RX, S.BOUND_TRX)
_LIVE = (S.OPEN, S.BINDING, *BOUND_STATES, S.UNBINDING)
_NOT_ERROR = (*_LIVE, S.CLOSED)
_SHARED: dict[tuple[State, Trigger], State] = {
    **{(s, T.SEND_ENQUIRE): s for s in (S.OPEN, *BOUND_STATES)},
    **{(s, T.RECV_ENQUIRE): s for s in _LIVE},
    **{(s, T.SEND_UNBIND): S.UNBINDING for s in BOUND_STATES},
    (S.UNBINDING, T.UNBIND_DONE): S.CLOSED,
    **{(s, T.RECV_UNBIND): S.CLOSED for s in _LIVE},
    # Answers may still go out after an orderly close; the transport drops them if the socket is gone.
    **{(s, T.ANSWER): s for s in _NOT_ERROR},
    **{(s, T.PEER_CLOSED): S.CLOSED for s in _NOT_ERROR},
    **{(s, T.REMOTE_FATAL): S.ERROR for s in _NOT_ERROR},
}

ESME_TRANSITIONS: dict[tuple[State, Trigger], State] = {
    **_SHARED,
    (S.OPEN, T.SEND_BIND_TX): S.BINDING,
    (S.OPEN, T.SEND_BIND_RX): S.BINDING,
    (S.OPEN, T.SEND_BIND_TRX): S.BINDING,
    (S.OPEN, T.RECV_OUTBIND): S.OPEN,
    (S.BINDING, T.BOUND_AS_TX): S.BOUND_TX,
    (S.BINDING, T.BOUND_AS_RX): S.BOUND_RX,
    (S.BINDING, T.BOUND_AS_TRX): S.BOUND_TRX,
    (S.BINDING, T.BIND_REFUSED): S.OPEN,
    (S.BINDING, T.BIND_TIMEOUT): S.ERROR,
    (S.BOUND_TX, T.SEND_SUBMIT): S.BOUND_TX,
    (S.BOUND_TRX, T.SEND_SUBMIT): S.BOUND_TRX,
    (S.BOUND_RX, T.RECV_DELIVER): S.BOUND_RX,
    (S.BOUND_TRX, T.RECV_DELIVER): S.BOUND_TRX,
    (S.UNBINDING, T.RECV_DELIVER): S.UNBINDING,  # still ours to store and ack
    (S.BOUND_RX, T.RECV_ALERT): S.BOUND_RX,
    (S.BOUND_TRX, T.RECV_ALERT): S.BOUND_TRX,
}

SMSC_TRANSITIONS: dict[tuple[State, Trigger], State] = {
    **_SHARED,
    (S.OPEN, T.BOUND_AS_TX): S.BOUND_TX,
    (S.OPEN, T.BOUND_AS_RX): S.BOUND_RX,
    (S.OPEN, T.BOUND_AS_TRX): S.BOUND_TRX,
    (S.OPEN, T.BIND_REFUSED): S.OPEN,
    (S.OPEN, T.SEND_OUTBIND): S.OPEN,
    (S.BOUND_TX, T.RECV_SUBMIT): S.BOUND_TX,
    (S.BOUND_TRX, T.RECV_SUBMIT): S.BOUND_TRX,
    (S.BOUND_RX, T.SEND_DELIVER): S.BOUND_RX,
    (S.BOUND_TRX, T.SEND_DELIVER): S.BOUND_TRX,
}
del S, T

BIND_TRIGGERS: dict[type[Pdu], tuple[Trigger, Trigger]] = {
    BindTransmitter: (Trigger.SEND_BIND_TX, Trigger.BOUND_AS_TX),
    BindReceiver: (Trigger.SEND_BIND_RX, Trigger.BOUND_AS_RX),
    BindTransceiver: (Trigger.SEND_BIND_TRX, Trigger.BOUND_AS_TRX),
}
