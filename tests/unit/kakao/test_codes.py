"""The result-code table: one test per class, plus the examples the issue names."""

from __future__ import annotations

import pytest

from gateway.kakao.codes import CODES, CodeClass, classify_code, receipt_outcome, send_outcome
from gateway.port import Outcome, ReceiptState

GATEWAY = {"fallback_mode": "gateway", "fallback_on_template_error": False}
PROVIDER = {"fallback_mode": "provider", "fallback_on_template_error": False}


def outcomes(code: str, **mode: object) -> tuple[CodeClass, tuple[Outcome, bool], tuple[ReceiptState, bool]]:
    info = classify_code(code)
    settings = {**GATEWAY, **mode}
    return info.cls, send_outcome(info, **settings), receipt_outcome(info, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["0", "1000"])
def test_success(code: str) -> None:
    """NHN's 0 is SUBMITTED; Kakao's 1000 is a DELIVERED receipt."""
    assert outcomes(code) == (CodeClass.SUCCESS, (Outcome.SUBMITTED, False), (ReceiptState.DELIVERED, False))


@pytest.mark.parametrize("code", ["3000", "3006", "9998", "9999"])
def test_retry(code: str) -> None:
    """Kakao system errors: RETRY when synchronous, a failed receipt asking for fallback when late."""
    assert outcomes(code) == (CodeClass.RETRY, (Outcome.RETRY, False), (ReceiptState.FAILED, True))


def test_throttle_daily_volume_exceeded() -> None:
    """-1017 (daily volume exceeded) is THROTTLED: back to the queue, not a failure."""
    assert outcomes("-1017") == (CodeClass.THROTTLE, (Outcome.THROTTLED, False), (ReceiptState.FAILED, True))


@pytest.mark.parametrize("code", ["-1000", "-1001", "-1030", "http_401"])
def test_account(code: str) -> None:
    """Our own credentials/contract are wrong: the message is kept (RETRY), never FAILED."""
    cls, outcome, _ = outcomes(code)
    assert (cls, outcome) == (CodeClass.ACCOUNT, (Outcome.RETRY, False))


@pytest.mark.parametrize(
    ("code", "state"),
    [("-2019", ReceiptState.FAILED), ("4", ReceiptState.FAILED), ("3008", ReceiptState.UNDELIVERABLE)],
)
def test_permanent(code: str, state: ReceiptState) -> None:
    """Body over 1,000 characters, bad parameters, a bad number: FAILED, no fallback."""
    assert outcomes(code) == (CodeClass.PERMANENT, (Outcome.FAILED, False), (state, False))


@pytest.mark.parametrize("code", ["3019", "3018", "3020", "-1027", "1021"])
def test_fallback(code: str) -> None:
    """Not a KakaoTalk user, Alimtalk blocked, sender profile blocked: FAILED asking for the fallback in gateway mode."""
    assert outcomes(code) == (CodeClass.FALLBACK, (Outcome.FAILED, True), (ReceiptState.UNDELIVERABLE, True))


@pytest.mark.parametrize("code", ["3019", "-1027"])
def test_fallback_in_provider_mode_is_left_to_the_provider(code: str) -> None:
    """In provider fallback mode NHN resends by itself: FAILED, and no fallback is asked."""
    assert outcomes(code, **PROVIDER)[1:] == ((Outcome.FAILED, False), (ReceiptState.UNDELIVERABLE, False))


@pytest.mark.parametrize("code", ["3016", "-3003", "3027", "-1028"])
def test_template(code: str) -> None:
    """Template mismatch / unknown template: FAILED, asking for the fallback when fallback_on_template_error."""
    assert outcomes(code) == (CodeClass.TEMPLATE, (Outcome.FAILED, False), (ReceiptState.FAILED, False))
    assert outcomes(code, fallback_on_template_error=True)[1:] == ((Outcome.FAILED, True), (ReceiptState.FAILED, True))


@pytest.mark.parametrize("code", ["-1005", "3005", "4000"])
def test_ambiguous(code: str) -> None:
    """It may have gone out (idempotency key reused, ack timeout): UNKNOWN, never a fallback."""
    assert outcomes(code) == (CodeClass.AMBIGUOUS, (Outcome.UNKNOWN, False), (ReceiptState.UNKNOWN, False))


@pytest.mark.parametrize("code", ["-777", "5555", "", None])
def test_unknown_codes_are_permanent_and_keep_their_code(code: str | None) -> None:
    """A code missing from the table is FAILED (no silent retry loop) and stays on the result."""
    info = classify_code(code)
    assert (info.cls, info.slug, info.code) == (CodeClass.PERMANENT, "unknown_code", "" if code is None else code)


def test_integer_codes_are_classified_like_strings() -> None:
    """NHN answers resultCode as a JSON number: -1027 and "-1027" are the same entry."""
    assert classify_code(-1027) is CODES["-1027"]


def test_every_class_is_used_and_every_row_is_described() -> None:
    """The table covers every class and each row has a slug and a description."""
    assert {i.cls for i in CODES.values()} == set(CodeClass)
    assert all(i.slug and i.description for i in CODES.values())
