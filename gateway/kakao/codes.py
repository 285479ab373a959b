"""Every documented NHN Cloud Alimtalk result code, its class, and what the gateway does with it.

The table (``data/codes.json``) holds every row of NHN's error-code document
(``ko/error-code.md`` of TOAST-DOCS/Alimtalk at ``8dc8f5c5``: 230 API response
codes and 105 delivery result codes) plus the 43 codes the document once listed
and withdrew (NHN may still send them). Each row has a class, and three flags:

* ``fallback_eligible``: an SMS/LMS of the same text makes sense (the failure is
  specific to Kakao: not reachable on Kakao, Kakao/NHN trouble, our Kakao
  account or template state, Kakao-only fields);
* ``ambiguous``: the message may already be on the phone (never resend, never
  fall back; reconcile by asking NHN);
* ``scope``: what the code is about (recipient, message, template, account,
  fallback_config, request, provider, query, management, other_product).

The table is checked row by row against the contract file
``tests/contract/nhn_alimtalk/codes.json`` by ``tests/unit/kakao/test_codes.py``,
and docs/kakao.md shows it (checked by a test as well).

What a class does, synchronously (the send answer) and on a delivery result::

    class          send answer (SendResult)                 delivery result (Receipt)
    -------------  ---------------------------------------  ---------------------------------------
    accepted       SUBMITTED (the carrier id is kept)       (not a result: still waiting)
    delivered      --                                       DELIVERED
    undeliverable  FAILED, fallback if eligible             UNDELIVERABLE, fallback if eligible
    failed         FAILED, fallback if eligible;            FAILED, fallback if eligible
                   account scope: RETRY after a pause
    retry          RETRY (the fallback is attached, used    FAILED, fallback if eligible
                   when the queue runs out of attempts)
    ambiguous      UNKNOWN: NHN is asked before any retry   UNKNOWN, never a fallback

Rules beyond the class:

* **An unknown code** (not in the table) is ``retry``, fallback-eligible, not
  ambiguous, and is logged so the table can be updated: never a permanent
  failure, which would lose the message silently.
* ``4161`` ("message being processed") is not a result: the message stays
  watched. Every other delivery code is final: a hook with a ``resultCode`` is
  the final word.
* Template-scope codes fall back only when ``fallback_on_template_error`` is
  set (a template mismatch is our bug, and a silent mass fallback hides it).
* Daily-volume codes (``-1017``) are THROTTLED for
  ``daily_limit_retry_after_seconds``.
* In ``fallback_mode = "provider"`` the gateway never asks for a fallback: NHN
  resends by itself.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from importlib import resources

from gateway.port import Outcome, ReceiptState

__all__ = [
    "CODES",
    "NOT_FINAL_CODES",
    "VOLUME_CODES",
    "CodeClass",
    "CodeInfo",
    "SendDecision",
    "classify_code",
    "is_final",
    "receipt_outcome",
    "send_outcome",
]


class CodeClass(enum.Enum):
    ACCEPTED = "accepted"  # API code 0 only: taken, a delivery result follows
    DELIVERED = "delivered"  # delivery code 1000 only
    UNDELIVERABLE = "undeliverable"  # the recipient cannot get it on Kakao
    FAILED = "failed"  # our request is wrong: the same request gets the same answer
    RETRY = "retry"  # transient or server side (NHN or Kakao)


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    cls: CodeClass
    fallback_eligible: bool
    ambiguous: bool
    scope: str
    description: str  # English
    ko: str = ""  # NHN's Korean text, verbatim
    api_message: str = ""  # the resultMessage NHN documents for an API code
    table: str = ""  # "api" | "delivery" | "" (not documented)
    withdrawn: bool = False
    documented: bool = True

    @property
    def label(self) -> str:
        """A short machine word for reasons and logs: the class, or ``ambiguous``."""
        return "ambiguous" if self.ambiguous else self.cls.value


# 4161 "처리중인 메시지": the message is still being processed, not a result.
NOT_FINAL_CODES = frozenset({"4161"})
# -1017 "일별 발송량을 초과한 발송 실패" (withdrawn 2026-01-06, the daily limit still exists).
VOLUME_CODES = frozenset({"-1017"})


def _load() -> dict[str, CodeInfo]:
    raw = json.loads(resources.files("gateway.kakao").joinpath("data/codes.json").read_text("utf-8"))
    table: dict[str, CodeInfo] = {}
    for row in raw["codes"]:
        info = CodeInfo(
            code=row["code"],
            cls=CodeClass(row["class"]),
            fallback_eligible=row["fallback_eligible"],
            ambiguous=row["ambiguous"],
            scope=row["scope"],
            description=row["en"].replace("<br>", "; "),
            ko=row["ko"],
            api_message=row["api_message"],
            table=row["table"],
            withdrawn=row["withdrawn"],
        )
        if info.code in table:
            raise RuntimeError(f"result code {info.code} is listed twice in data/codes.json")
        table[info.code] = info
    return table


CODES: dict[str, CodeInfo] = _load()


def classify_code(code: str | int | None) -> CodeInfo:
    """The table entry for a code; an unknown code is ``retry``, fallback-eligible, never permanent."""
    key = "" if code is None else str(code).strip()
    info = CODES.get(key)
    if info is not None:
        return info
    return CodeInfo(
        key,
        CodeClass.RETRY,
        fallback_eligible=True,
        ambiguous=False,
        scope="unknown",
        description="a code NHN's documents do not list",
        documented=False,
    )


def is_final(code: str | int | None) -> bool:
    """Is a result carrying this code the final word on the message? (Every code but 0 and 4161.)"""
    if code is None or str(code).strip() == "":
        return False
    key = str(code).strip()
    return key not in NOT_FINAL_CODES and classify_code(key).cls is not CodeClass.ACCEPTED


def _fallback(info: CodeInfo, *, fallback_mode: str, fallback_on_template_error: bool) -> bool:
    if fallback_mode != "gateway" or not info.fallback_eligible or info.ambiguous:
        return False
    return info.scope != "template" or fallback_on_template_error


@dataclass(frozen=True, slots=True)
class SendDecision:
    """What a synchronous per-recipient (or whole-request) code comes to."""

    outcome: Outcome
    fallback: bool  # attach the message's fallback (FAILED: enqueued at once; RETRY: when attempts run out)
    pause: str | None = None  # "account" | "volume": retry after the configured long pause


def send_outcome(info: CodeInfo, *, fallback_mode: str, fallback_on_template_error: bool) -> SendDecision:
    """The outcome of a code in a send answer (see the module docstring)."""
    fallback = _fallback(info, fallback_mode=fallback_mode, fallback_on_template_error=fallback_on_template_error)
    if info.cls is CodeClass.ACCEPTED:
        return SendDecision(Outcome.SUBMITTED, False)
    if info.ambiguous or info.cls is CodeClass.DELIVERED or info.code in NOT_FINAL_CODES:
        return SendDecision(Outcome.UNKNOWN, False)
    if info.code in VOLUME_CODES:
        return SendDecision(Outcome.THROTTLED, False, pause="volume")
    if info.cls is CodeClass.RETRY:
        return SendDecision(Outcome.RETRY, fallback)
    if info.scope == "account":
        return SendDecision(Outcome.RETRY, fallback, pause="account")
    return SendDecision(Outcome.FAILED, fallback)


def receipt_outcome(
    info: CodeInfo, *, fallback_mode: str, fallback_on_template_error: bool
) -> tuple[ReceiptState | None, bool]:
    """The receipt state of a delivery result (None: not a result yet) and whether it asks for the fallback."""
    if info.code in NOT_FINAL_CODES or info.cls is CodeClass.ACCEPTED:
        return None, False
    if info.cls is CodeClass.DELIVERED:
        return ReceiptState.DELIVERED, False
    if info.ambiguous:
        return ReceiptState.UNKNOWN, False
    fallback = _fallback(info, fallback_mode=fallback_mode, fallback_on_template_error=fallback_on_template_error)
    if info.cls is CodeClass.UNDELIVERABLE:
        return ReceiptState.UNDELIVERABLE, fallback
    return ReceiptState.FAILED, fallback
