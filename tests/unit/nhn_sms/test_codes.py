"""The NHN SMS code table agrees with every documented code (tests/contract/nhn_sms/codes.json)."""

from __future__ import annotations

import pytest

from gateway.nhn_sms import (
    API_CODES,
    DELIVERY_CODES,
    CodeClass,
    NhnRecord,
    classify_api,
    classify_delivery,
    receipt_for,
)
from gateway.port import ReceiptState
from tests.support.nhn_sms import fixture

CODES = fixture("codes.json")


@pytest.mark.parametrize("space", ["api", "delivery"])
def test_every_documented_code_has_its_class(space: str) -> None:
    """Each API and delivery code of codes.json is in the table with the same class and scope."""
    table = API_CODES if space == "api" else DELIVERY_CODES
    documented = {e["code"]: e for e in CODES[space]}
    assert set(table) == set(documented)
    for code, entry in documented.items():
        info = table[code]
        assert info.cls.value == entry["class"], code
        assert info.scope == (entry.get("scope") or ""), code
        assert info.description == entry["en"].replace('"', "'"), code


def test_unknown_codes_are_never_permanent() -> None:
    """An undocumented API code is RETRY; an undocumented delivery code gives an UNKNOWN receipt, never FAILED."""
    assert classify_api("-31337").cls is CodeClass.RETRY and not classify_api("-31337").known
    assert classify_api(None).cls is CodeClass.RETRY
    record = NhnRecord("r1", 1, "gw-5", result_code="Z123")
    receipt = receipt_for("nhn", record)
    assert receipt is not None and receipt.state is ReceiptState.UNKNOWN and receipt.code == "Z123"
    assert classify_delivery("Z123").known is False


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("1000", ReceiptState.DELIVERED),
        ("3001", ReceiptState.UNDELIVERABLE),
        ("2000", ReceiptState.EXPIRED),
        ("1019", ReceiptState.EXPIRED),
        ("3012", ReceiptState.FAILED),
        ("3015", ReceiptState.FAILED),
    ],
)
def test_delivery_codes_become_receipts(code: str, state: ReceiptState) -> None:
    """resultCode decides: 1000 delivered, undeliverable (2000/1019 expired), failed, retry (FAILED, retryable)."""
    receipt = receipt_for("nhn", NhnRecord("r1", 1, "gw-5", result_code=code, msg_status="3"))
    assert receipt is not None and receipt.state is state and receipt.carrier_id == "gw-5"
    assert receipt.detail is not None and receipt.detail.get("retryable", False) is (code == "3015")


def test_statuses_without_a_result_code() -> None:
    """Without resultCode only cancel/duplicate/ad-restricted decide; E915 and DUPLICATED are dropped; pending waits."""
    assert receipt_for("nhn", NhnRecord("r", 1, "gw-1", result_code="E915")) is None
    assert receipt_for("nhn", NhnRecord("r", 1, "gw-1", message_status="DUPLICATED")) is None
    assert receipt_for("nhn", NhnRecord("r", 1, "gw-1", msg_status="2")) is None
    assert receipt_for("nhn", NhnRecord("r", 1, "gw-1", msg_status="3")) is None  # 성공 = handed over, not delivered
    cancelled = receipt_for("nhn", NhnRecord("r", 1, "gw-1", msg_status="4"))
    assert cancelled is not None and cancelled.state is ReceiptState.FAILED
    ad = receipt_for("nhn", NhnRecord("r", 1, "gw-1", message_status="FAILED_AD"))
    assert ad is not None and ad.detail is not None and ad.detail["retryable"] is True
    assert receipt_for("nhn", NhnRecord("r", 1, None, result_code="1000")) is None
