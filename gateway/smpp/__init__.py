"""SMPP 3.4: a sans-I/O core, plus the asyncio transport, connector and simulator.

The core — PDUs, codec, session state machine, text encodings, concatenation,
receipt parsing, status codes — imports neither ``asyncio`` nor ``socket`` and is
re-exported here. The I/O side is imported from its modules:
``gateway.smpp.connector.SmppConnector``, ``gateway.smpp.simulator.SmscSimulator``,
``gateway.smpp.transport``.
"""

from gateway.smpp.codec import NEED_DATA, Decoder, decode, encode
from gateway.smpp.concat import ConcatMethod, Reassembler, Segment, build_segments, parse_udh
from gateway.smpp.errors import LocalProtocolError, ProtocolError, RemoteProtocolError, SmppError
from gateway.smpp.pdu import (
    DataSm,
    DeliverSm,
    EnquireLink,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)
from gateway.smpp.receipts import DeliveryState, IdFormat, ParsedReceipt, normalise_message_id, parse_receipt
from gateway.smpp.session import EsmeSession, SmscSession
from gateway.smpp.status import StatusClass, classify
from gateway.smpp.text import Encoding, EncodingPolicy, TextEncodingError, choose_encoding, count_segments
from gateway.smpp.tlv import Tag, Tlvs

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
    "classify",
    "count_segments",
    "decode",
    "encode",
    "normalise_message_id",
    "parse_receipt",
    "parse_udh",
]
