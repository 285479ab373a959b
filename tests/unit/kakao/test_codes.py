"""The result-code table against NHN's documented codes, and what each class does here."""

from __future__ import annotations

import json

import pytest

from gateway.kakao.codes import (
    CODES,
    NOT_FINAL_CODES,
    CodeClass,
    SendDecision,
    classify_code,
    is_final,
    receipt_outcome,
    send_outcome,
)
from gateway.port import Outcome, ReceiptState
from tests.support.kakao import CONTRACT

GATEWAY = {"fallback_mode": "gateway", "fallback_on_template_error": False}
PROVIDER = {"fallback_mode": "provider", "fallback_on_template_error": False}
DOCUMENTED = json.loads((CONTRACT / "codes.json").read_text("utf-8"))
ROWS = [
    *((r, "api", False) for r in DOCUMENTED["api_result_codes"]),
    *((r, "delivery", False) for r in DOCUMENTED["delivery_result_codes"]),
    *((r, "api" if r["table"].startswith("API") else "delivery", True) for r in DOCUMENTED["withdrawn_codes"]),
]


def decide(code: str | None, **mode: object) -> tuple[SendDecision, tuple[ReceiptState | None, bool]]:
    info = classify_code(code)
    settings = {**GATEWAY, **mode}
    return send_outcome(info, **settings), receipt_outcome(info, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(("row", "table", "withdrawn"), ROWS, ids=[f"{t}:{r['code']}" for r, t, _ in ROWS])
def test_every_documented_code_is_in_the_table_as_classified(row: dict, table: str, withdrawn: bool) -> None:
    """Each row of NHN's error-code document (ko/error-code.md, and the withdrawn rows) is ours, field for field."""
    info = CODES[str(row["code"])]
    assert (info.cls.value, info.fallback_eligible, info.ambiguous, info.scope) == (
        row["class"],
        row["fallback_eligible"],
        row["ambiguous"],
        row["scope"],
    )
    assert (info.table, info.withdrawn, info.ko) == (table, withdrawn, row["ko"])
    assert info.documented and info.description


def test_the_table_holds_nothing_else() -> None:
    """No code of ours is missing from NHN's documents (no invented codes such as http_401 or CANCEL)."""
    assert set(CODES) == {str(r["code"]) for r, _, _ in ROWS}
    assert len(DOCUMENTED["api_result_codes"]) == 230 and len(DOCUMENTED["delivery_result_codes"]) == 105


@pytest.mark.parametrize(("row", "table", "withdrawn"), ROWS, ids=[f"{t}:{r['code']}" for r, t, _ in ROWS])
def test_every_code_has_an_explicit_outcome_at_both_stages(row: dict, table: str, withdrawn: bool) -> None:
    """Send answer and delivery result: the class decides; ambiguous codes never fall back, never fail."""
    code = str(row["code"])
    send, (state, fallback) = decide(code)
    cls = row["class"]
    if row["ambiguous"] or code in NOT_FINAL_CODES:
        assert send.outcome is Outcome.UNKNOWN and not send.fallback
        assert fallback is False and state in (ReceiptState.UNKNOWN, None)
        return
    expected_send = {
        "accepted": Outcome.SUBMITTED,
        "delivered": Outcome.UNKNOWN,  # a delivery result in a send answer: ask NHN, never guess
        "undeliverable": Outcome.FAILED,
        "failed": Outcome.RETRY if row["scope"] == "account" else Outcome.FAILED,
        "retry": Outcome.THROTTLED if code == "-1017" else Outcome.RETRY,
    }[cls]
    assert send.outcome is expected_send
    expected_state = {
        "accepted": None,
        "delivered": ReceiptState.DELIVERED,
        "undeliverable": ReceiptState.UNDELIVERABLE,
        "failed": ReceiptState.FAILED,
        "retry": ReceiptState.FAILED,
    }[cls]
    assert state is expected_state
    eligible = row["fallback_eligible"] and row["scope"] != "template"
    assert fallback is eligible
    if send.outcome in (Outcome.FAILED, Outcome.RETRY):
        assert send.fallback is eligible


@pytest.mark.parametrize("code", ["-777", "5555", "", None, "-9998x"])
def test_unknown_codes_are_retried_never_permanent(code: str | None) -> None:
    """A code NHN does not document: RETRY with the fallback kept; as a delivery result FAILED with fallback."""
    info = classify_code(code)
    assert (info.cls, info.documented, info.ambiguous) == (CodeClass.RETRY, False, False)
    send, receipt = decide(code)
    assert send == SendDecision(Outcome.RETRY, True)
    assert receipt == (ReceiptState.FAILED, True)


@pytest.mark.parametrize(
    ("code", "send", "receipt"),
    [
        ("0", Outcome.SUBMITTED, (None, False)),
        ("1000", Outcome.UNKNOWN, (ReceiptState.DELIVERED, False)),
        ("-9999", Outcome.RETRY, (ReceiptState.FAILED, True)),  # NHN system error: a whole batch, not permanent
        ("-3005", Outcome.FAILED, (ReceiptState.FAILED, False)),  # template not approved
        ("-4019", Outcome.FAILED, (ReceiptState.UNDELIVERABLE, False)),  # invalid number: no SMS either
        ("-8008", Outcome.FAILED, (ReceiptState.FAILED, False)),  # banned word: not resent by SMS
        ("1020", Outcome.FAILED, (ReceiptState.UNDELIVERABLE, False)),
        ("2001", Outcome.RETRY, (ReceiptState.FAILED, True)),
        ("3019", Outcome.FAILED, (ReceiptState.UNDELIVERABLE, True)),  # not a KakaoTalk user: SMS instead
        ("4100", Outcome.RETRY, (ReceiptState.FAILED, True)),
        ("3005", Outcome.UNKNOWN, (ReceiptState.UNKNOWN, False)),  # may still arrive within 3 days
        ("4161", Outcome.UNKNOWN, (None, False)),  # still being processed: not a result
        ("-1005", Outcome.UNKNOWN, (ReceiptState.UNKNOWN, False)),
    ],
)
def test_the_codes_the_issue_names(code: str, send: Outcome, receipt: tuple[ReceiptState | None, bool]) -> None:
    """The examples of issue 13 (-9999, -3005, -4019, -8008, 1020, 2001, 4100-4161, ...) land where they should."""
    decision, found = decide(code)
    assert (decision.outcome, found) == (send, receipt)


def test_account_codes_pause_and_volume_codes_throttle() -> None:
    """Our key or profile refused: RETRY after the account pause (the message is not at fault); -1017 THROTTLED."""
    assert decide("-1001")[0] == SendDecision(Outcome.RETRY, True, pause="account")
    assert decide("-1017")[0] == SendDecision(Outcome.THROTTLED, False, pause="volume")


def test_provider_mode_never_asks_for_the_gateway_fallback() -> None:
    """In provider fallback mode NHN resends by itself: no code attaches our fallback."""
    for code in CODES:
        send, (_, fallback) = decide(code, **PROVIDER)
        assert not send.fallback and not fallback


def test_template_codes_fall_back_only_when_configured() -> None:
    """A template mismatch falls back only with fallback_on_template_error (our bug must not hide behind SMS)."""
    assert decide("3016")[1] == (ReceiptState.FAILED, False)
    assert decide("3016", fallback_on_template_error=True)[1] == (ReceiptState.FAILED, True)
    assert decide("-3010", fallback_on_template_error=True)[0] == SendDecision(Outcome.FAILED, True)


def test_finality_and_integer_codes() -> None:
    """Every code is final but 0 and 4161; NHN's integers classify like strings."""
    assert is_final("1000") and is_final("3005") and is_final("-777")
    assert not is_final("4161") and not is_final("0") and not is_final(None) and not is_final("")
    assert classify_code(-1027) is CODES["-1027"]
