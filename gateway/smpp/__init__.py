"""SMPP 3.4: the sans-I/O core in ``gateway.smpp.protocol``, and the asyncio side around it.

The core — PDUs, codec, TLVs, status codes, text encodings, concatenation,
receipt parsing, the session state machine — lives in ``gateway/smpp/protocol/``
and imports neither ``asyncio`` nor ``socket``; its public names are
re-exported here. The I/O side is imported from its modules:
``gateway.smpp.connector.SmppConnector``, ``gateway.smpp.bind``,
``gateway.smpp.transport``. The SMSC simulator, a test peer, is
``gateway.simulators.smsc``.
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
from gateway.smpp.protocol.receipts import DeliveryState, IdFormat, ParsedReceipt, normalise_message_id, parse_receipt
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
