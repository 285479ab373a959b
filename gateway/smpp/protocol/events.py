"""What an SMPP session reports (h11 ``_events.py``): frozen, slotted dataclasses, one per happening.

``next_event()`` and ``on_timer()`` of ``gateway.smpp.protocol.session`` return
them; the caller matches on the class. Each carries the PDUs involved (and the
``context`` the caller gave ``send``), never a socket or a clock. A response
event checks that it pairs a request with its own answer when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.smpp.protocol.errors import LocalProtocolError, RemoteProtocolError
from gateway.smpp.protocol.pdu import (
    AlertNotification,
    DataSm,
    DeliverSm,
    GenericNack,
    Outbind,
    Pdu,
    SubmitSm,
    Unbind,
)

__all__ = [
    "AlertReceived",
    "BindComplete",
    "BindFailed",
    "Closed",
    "DataSmReceived",
    "DeliverResponse",
    "DeliverSmReceived",
    "Event",
    "GenericNackReceived",
    "OutbindReceived",
    "PeerUnbound",
    "ProtocolErrorEvent",
    "QueryResponse",
    "QuerySmReceived",
    "ResponseTimeout",
    "SubmitResponse",
    "SubmitSmReceived",
    "UnbindComplete",
    "UnmatchedResponse",
]


class Event:
    """Base of everything ``next_event`` / ``on_timer`` return."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class BindComplete(Event):
    """The bind succeeded (ESME: our bind was accepted; SMSC: we accepted the peer's)."""

    request: Pdu
    response: Pdu


@dataclass(frozen=True, slots=True)
class BindFailed(Event):
    """The bind was refused: ``response`` is the bind_*_resp with its error status, or a generic_nack."""

    request: Pdu
    response: Pdu


@dataclass(frozen=True, slots=True)
class SubmitResponse(Event):
    """ESME: the answer (any command_status) to a submit_sm / data_sm we sent with ``context``."""

    request: Pdu
    response: Pdu
    context: Any = None

    def __post_init__(self) -> None:
        if self.request.sequence_number != self.response.sequence_number:
            raise LocalProtocolError("a response must carry its request's sequence_number")


@dataclass(frozen=True, slots=True)
class QueryResponse(Event):
    """ESME: the answer (any command_status) to a query_sm we sent with ``context``."""

    request: Pdu
    response: Pdu
    context: Any = None


@dataclass(frozen=True, slots=True)
class QuerySmReceived(Event):
    """SMSC: the ESME asks the state of a message; answer it with ``SmscSession.ack_query``."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class DeliverResponse(Event):
    """SMSC: the ESME's answer to a deliver_sm / data_sm we sent with ``context``."""

    request: Pdu
    response: Pdu
    context: Any = None


@dataclass(frozen=True, slots=True)
class GenericNackReceived(Event):
    """The peer sent generic_nack; ``request`` is the request it answers, or None if its seq is unknown."""

    nack: GenericNack
    request: Pdu | None = None
    context: Any = None


@dataclass(frozen=True, slots=True)
class UnmatchedResponse(Event):
    """A response whose sequence number matches nothing outstanding (late, after a timeout, or bogus)."""

    response: Pdu


@dataclass(frozen=True, slots=True)
class ResponseTimeout(Event):
    """No response to ``request`` before its deadline: its outcome is unknown.

    For a bind, the session is in ERROR; for an enquire_link (our keep-alive or
    the caller's), the link is dead: close the connection.
    """

    request: Pdu
    context: Any = None

    @property
    def sequence_number(self) -> int:
        return self.request.sequence_number


@dataclass(frozen=True, slots=True)
class DeliverSmReceived(Event):
    """ESME: a deliver_sm (receipt or MO message). Store it, then ``ack_deliver(pdu)``: never before."""

    pdu: DeliverSm


@dataclass(frozen=True, slots=True)
class DataSmReceived(Event):
    """A data_sm from the peer; answer it with ``ack_deliver`` (ESME) or ``ack_submit`` (SMSC)."""

    pdu: DataSm


@dataclass(frozen=True, slots=True)
class SubmitSmReceived(Event):
    """SMSC: a submit_sm; answer it with ``ack_submit(pdu, ...)``."""

    pdu: SubmitSm


@dataclass(frozen=True, slots=True)
class AlertReceived(Event):
    """ESME: an alert_notification (no answer exists)."""

    pdu: AlertNotification


@dataclass(frozen=True, slots=True)
class OutbindReceived(Event):
    """ESME: the SMSC asks us to bind (send bind_receiver)."""

    pdu: Outbind


@dataclass(frozen=True, slots=True)
class PeerUnbound(Event):
    """The peer sent unbind; the session answered unbind_resp (in ``data_to_send``) and is CLOSED."""

    request: Unbind


@dataclass(frozen=True, slots=True)
class UnbindComplete(Event):
    """Our unbind was answered (``response``: unbind_resp or generic_nack); the session is CLOSED."""

    response: Pdu


@dataclass(frozen=True, slots=True)
class Closed(Event):
    """The peer closed the connection. ``expected`` is True if the session was already CLOSED (unbound)."""

    expected: bool


@dataclass(frozen=True, slots=True)
class ProtocolErrorEvent(Event):
    """The peer sent something invalid; any answer is in ``data_to_send``. Fatal errors leave ERROR."""

    error: RemoteProtocolError
