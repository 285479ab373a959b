"""The sans-I/O SMPP 3.4 core (h11 style): bytes in, events out; events in, bytes out.

Everything in this folder is pure: PDU definitions (``pdu``), the codec
(``codec``), TLVs (``tlv``), command_status codes (``status``), text encodings
(``text``: GSM 03.38, UCS-2, EUC-KR...), concatenation (``concat``: UDH, SAR,
message_payload), delivery-receipt parsing (``receipts``), the exceptions
(``errors``) and the session state machine (``state``: states, triggers and the
transition tables; ``events``: what a session reports; ``session``: the
session objects). No module here imports ``asyncio``, ``anyio``, ``socket``,
``ssl``, ``structlog`` or ``prometheus_client``, nor any gateway module outside
this folder; ``tests/smpp/test_public_api.py`` walks the folder and checks it,
so a new module is covered without being listed.

The I/O side lives one level up, in ``gateway.smpp``: ``transport`` (the only
module that touches the network), ``bind``, ``connector``, ``inbound`` /
``outbound`` (adapters to the queue's port), ``jobs``, ``metrics``, ``config``.
The SMSC simulator is ``gateway.simulators.smsc``.
"""

from gateway.smpp.protocol.codec import NEED_DATA, Decoder, decode, encode
from gateway.smpp.protocol.concat import ConcatMethod, Reassembler, Segment, build_segments, parse_udh
from gateway.smpp.protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError, SmppError
from gateway.smpp.protocol.pdu import (
    DataSm,
    DeliverSm,
    EnquireLink,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)
from gateway.smpp.protocol.receipts import (
    DeliveryState,
    IdFormat,
    ParsedReceipt,
    normalise_message_id,
    parse_receipt,
)
from gateway.smpp.protocol.session import EsmeSession, SmscSession
from gateway.smpp.protocol.status import StatusClass, classify_status
from gateway.smpp.protocol.text import Encoding, EncodingPolicy, TextEncodingError, choose_encoding, count_segments
from gateway.smpp.protocol.tlv import Tag, Tlvs

__all__ = [
    "NEED_DATA",
    "ConcatMethod",
    "DataSm",
    "Decoder",
    "DeliverSm",
    "DeliveryState",
    "Encoding",
    "EncodingPolicy",
    "EnquireLink",
    "EsmeSession",
    "GenericNack",
    "IdFormat",
    "LocalProtocolError",
    "ParsedReceipt",
    "Pdu",
    "ProtocolError",
    "Reassembler",
    "RemoteProtocolError",
    "Segment",
    "SmppError",
    "SmscSession",
    "StatusClass",
    "SubmitSm",
    "SubmitSmResp",
    "Tag",
    "TextEncodingError",
    "Tlvs",
    "Unbind",
    "build_segments",
    "choose_encoding",
    "classify_status",
    "count_segments",
    "decode",
    "encode",
    "normalise_message_id",
    "parse_receipt",
    "parse_udh",
]
