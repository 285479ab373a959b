"""Every reason the Alimtalk connector gives (registered with :mod:`gateway.port.reasons`).

A reason is a slug; the provider's message, the template's name, the
mismatching position and any other text for people go into the event's
``detail`` (``{"detail": ...}``, plus ``provider_code`` / ``provider_message``
for a provider's answer), and the provider's own code into ``code``.

* refusals before any request (:class:`KakaoReason`, ``prepare`` and the
  template registry);
* what became of a request without a per-recipient answer (provider
  unavailable or down, no answer, an unreadable answer, a bug);
* the provider's answer: ``alimtalk_<class>`` of its result code
  (:data:`gateway.kakao.codes.CODES`: accepted, delivered, undeliverable,
  failed, retry, or ambiguous); the code itself goes into ``code``.
"""

from __future__ import annotations

import enum

from gateway.kakao.codes import CODES
from gateway.port import register_reasons

__all__ = ["KakaoReason", "code_reason"]


class KakaoReason(enum.StrEnum):
    # refused before any request (gateway/kakao/prepare.py, templates.py)
    WRONG_CHANNEL = "alimtalk_wrong_channel"
    ADVERTISING = "alimtalk_advertising"
    NO_TEMPLATE_CODE = "alimtalk_no_template_code"
    BAD_BUTTONS = "alimtalk_bad_buttons"
    BAD_FALLBACK = "alimtalk_bad_fallback"
    BODY_TOO_LONG = "alimtalk_body_too_long"
    TEMPLATE_UNKNOWN = "alimtalk_template_unknown"
    TEMPLATE_NOT_APPROVED = "alimtalk_template_not_approved"
    TEMPLATE_MISMATCH = "alimtalk_template_mismatch"
    BUTTONS_MISMATCH = "alimtalk_buttons_mismatch"
    # a request without a per-recipient answer (gateway/kakao/batch_sender.py, connector.py)
    PROVIDER_UNAVAILABLE = "alimtalk_provider_unavailable"
    PROVIDER_DOWN = "alimtalk_provider_down"
    NO_ANSWER = "alimtalk_no_answer"
    UNREADABLE_ANSWER = "alimtalk_unreadable_answer"
    INTERNAL_ERROR = "alimtalk_internal_error"
    # refusals of the full template model (gateway/kakao/templates.py, prepare.py)
    BAD_VARIABLES = "alimtalk_bad_variables"
    VARIABLES_MISMATCH = "alimtalk_variables_mismatch"
    VARIABLE_MISSING = "alimtalk_variable_missing"
    RULES = "alimtalk_rules"
    # at most one copy (gateway/kakao/batch_sender.py, journal.py)
    JOURNAL_UNAVAILABLE = "alimtalk_journal_unavailable"
    LOOKUP_FAILED = "alimtalk_lookup_failed"
    NOT_FOUND_AFTER_ANSWER = "alimtalk_not_found_after_answer"
    THROTTLED = "alimtalk_throttled"
    REFUSED_PROVIDER_RESENDS = "alimtalk_refused_provider_resends"


def code_reason(label: str) -> str:
    """The reason for a provider result code's class label (:attr:`CodeInfo.label`): ``alimtalk_<label>``."""
    return f"alimtalk_{label}"


register_reasons("kakao", KakaoReason)
register_reasons("kakao", {code_reason(info.label) for info in CODES.values()} | {code_reason("ambiguous")})
