"""The SMPP package's public names, and the sans-I/O rule for its core modules."""

from __future__ import annotations

import ast
from pathlib import Path

import gateway.smpp as smpp

CORE = ("codec", "concat", "errors", "pdu", "receipts", "session", "status", "text", "tlv")


def test_public_names_are_pinned_and_importable() -> None:
    """gateway.smpp re-exports exactly these names, and each resolves."""
    assert sorted(smpp.__all__) == sorted(
        [
            "NEED_DATA", "ConcatMethod", "DataSm", "Decoder", "DeliverSm", "DeliveryState", "Encoding",
            "EncodingPolicy", "EnquireLink", "EsmeSession", "GenericNack", "IdFormat", "LocalProtocolError",
            "ParsedReceipt", "Pdu", "ProtocolError", "Reassembler", "RemoteProtocolError", "Segment", "SmppError",
            "SmscSession", "StatusClass", "SubmitSm", "SubmitSmResp", "Tag", "TextEncodingError", "Tlvs", "Unbind",
            "build_segments", "choose_encoding", "classify", "count_segments", "decode", "encode",
            "normalise_message_id", "parse_receipt", "parse_udh",
        ]
    )
    for name in smpp.__all__:
        assert getattr(smpp, name) is not None


def test_core_modules_import_no_io() -> None:
    """The sans-I/O core imports neither asyncio, anyio nor socket (only the transport touches the network)."""
    folder = Path(smpp.__file__).parent
    for module in CORE:
        tree = ast.parse((folder / f"{module}.py").read_text("utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & {"asyncio", "anyio", "socket", "ssl", "uvloop"}, (module, imported)
