"""The port between the queue and the connectors: the one vocabulary both speak.

The queue engine hands :class:`OutboundMessage` s to a :class:`Connector` and
hears back through the :class:`ResultSink` it passed to ``Connector.run``:
:class:`SendResult` s, :class:`Receipt` s and :class:`InboundMessage` s. Where a
message stands is a :class:`MessageState`; why, a reason from the one registry
(:mod:`gateway.port.reasons`). Nothing here does I/O; every other
room may import it, and it imports no other room.
"""

from gateway.port.connector import Connector, ConnectorHealth, ResultSink
from gateway.port.messages import InboundMessage, OutboundMessage
from gateway.port.outcomes import Fallback, MessageState, Outcome, Receipt, ReceiptQuery, ReceiptState, SendResult
from gateway.port.reasons import (
    QueueReason,
    ReasonRegistry,
    is_reason_code,
    reason_registry,
    register_reason_pattern,
    register_reasons,
    split_reason,
    with_text,
)

__all__ = [
    "Connector",
    "ConnectorHealth",
    "Fallback",
    "InboundMessage",
    "MessageState",
    "OutboundMessage",
    "Outcome",
    "QueueReason",
    "ReasonRegistry",
    "Receipt",
    "ReceiptQuery",
    "ReceiptState",
    "ResultSink",
    "SendResult",
    "is_reason_code",
    "reason_registry",
    "register_reason_pattern",
    "register_reasons",
    "split_reason",
    "with_text",
]
