"""Reasons are a fixed set: every one registered is documented in docs/upstream.md, and nothing else is."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gateway.port import ReasonRegistry, reason_registry
from tests.support.reasons import ROOT, documented, registered


def test_every_registered_reason_is_documented_and_every_documented_one_registered() -> None:
    """docs/upstream.md "Reasons" lists exactly the reasons the rooms of the gateway register."""
    codes = set(registered())
    listed = set(documented())
    assert sorted(codes - listed) == [], "registered but not in docs/upstream.md"
    assert sorted(listed - codes) == [], "in docs/upstream.md but no room gives it"
    assert all(meaning for meaning in documented().values())


def test_each_room_registers_its_own_reasons() -> None:
    """The queue, policy, SMPP, Alimtalk and loopback rooms each register theirs (the doc test is not vacuous)."""
    rooms = {room for rs in registered().values() for room in rs}
    assert {"queue", "policy", "smpp", "kakao", "loopback"} <= rooms
    assert reason_registry.known("ESME_RINVDSTADR") and reason_registry.known("alimtalk_undeliverable")
    assert reason_registry.known("fr_ad_prefix_missing")  # a family: <cc>_ad_prefix_missing
    assert not reason_registry.known("fra_ad_prefix_missing") and not reason_registry.known("nonsense")


@pytest.mark.parametrize(
    "text",
    ["alimtalk_provider_unavailable: POST /alimtalk/v2.3 cannot connect", "0x00000401", "has space", "", "a" * 65],
)
def test_text_is_never_a_reason(text: str) -> None:
    """Free text, a bare hex status or an over-long string cannot be registered as a reason."""
    with pytest.raises(ValueError, match="reason"):
        ReasonRegistry().register("test", [text])


def _reason_arguments() -> list[tuple[str, int, ast.expr]]:
    """Every ``reason=`` keyword argument in the gateway's code, and the first argument of the policy's
    decision types: what a connector or rule hands over as a reason."""
    found = []
    for path in sorted((ROOT / "gateway").rglob("*.py")):
        if "simulators" in path.parts:  # test peers: their `reason=` is a provider's, not ours
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "reason":
                    found.append((str(path.relative_to(ROOT)), node.lineno, kw.value))
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in {"Fail", "Suppress", "Expire", "Hold", "_refuse", "_failed"} and node.args:
                found.append((str(Path(path).relative_to(ROOT)), node.lineno, node.args[0]))
    return found


def test_reasons_in_the_code_are_registered_codes_not_text() -> None:
    """No reason is built from text (an f-string or concatenation); every literal one is registered."""
    registered()
    arguments = _reason_arguments()
    assert len(arguments) > 20
    for where, line, value in arguments:
        assert not isinstance(value, ast.JoinedStr | ast.BinOp), f"{where}:{line}: a reason built from text"
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            assert reason_registry.known(value.value), f"{where}:{line}: {value.value!r} is not a registered reason"
