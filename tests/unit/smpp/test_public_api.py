"""The SMPP package's public names, and the sans-I/O rule for every module of its core folder."""

from __future__ import annotations

import ast
import importlib.util
import pkgutil

import gateway.smpp as smpp
import gateway.smpp.protocol as protocol

# Anything that does I/O, sleeps, logs or counts belongs outside gateway/smpp/protocol/.
FORBIDDEN = {"asyncio", "anyio", "socket", "ssl", "uvloop", "structlog", "prometheus_client"}


def test_public_names_are_pinned_and_importable() -> None:
    """gateway.smpp re-exports exactly these names, and each resolves."""
    assert sorted(smpp.__all__) == sorted(
        [
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
    )
    for name in smpp.__all__:
        assert getattr(smpp, name) is not None
    assert sorted(protocol.__all__) == sorted(smpp.__all__)
    assert all(getattr(protocol, name) is getattr(smpp, name) for name in smpp.__all__)


def _imports(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: relative import"
            imported.add(node.module or "")
    return imported


def test_core_folder_imports_no_io() -> None:
    """No module of gateway/smpp/protocol/ imports asyncio, anyio, socket, ssl, structlog or prometheus_client,
    nor any gateway module outside that folder (found by walking the folder, so new modules are covered)."""
    modules = [info.name for info in pkgutil.walk_packages(protocol.__path__, prefix=f"{protocol.__name__}.")]
    assert {"gateway.smpp.protocol.codec", "gateway.smpp.protocol.session"} <= set(modules)
    for module in [protocol.__name__, *modules]:
        imported = _imports(module)
        assert not {name.split(".")[0] for name in imported} & FORBIDDEN, (module, imported)
        outside = {
            name for name in imported if name.startswith("gateway") and not name.startswith(f"{protocol.__name__}.")
        }
        assert not outside, (module, outside)
