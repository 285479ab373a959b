"""Every reason the Alimtalk connector gives (registered with :mod:`gateway.port.reasons`).

A reason is a slug; the provider's message, the template's name, the
mismatching position and any other text for people go into the event's
``detail`` (``{"detail": ...}``, plus ``provider_code`` / ``provider_message``
for a provider's answer), and the provider's own code into ``code``.

* refusals before any request (:class:`KakaoReason`, ``prepare`` and the
  template registry);
* what became of a request without a per-recipient answer (provider
  unavailable or down, no answer, an unreadable answer, a bug);
* the provider's answer: ``alimtalk_<slug>`` of its result code
  (:data:`gateway.kakao.codes.CODES`), ``alimtalk_unknown_code`` for a code
  outside the documented table.
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
    UNKNOWN_CODE = "alimtalk_unknown_code"


def code_reason(slug: str) -> str:
    """The reason for a provider result code's slug: ``alimtalk_<slug>``."""
    return f"alimtalk_{slug}"


register_reasons("kakao", KakaoReason)
register_reasons("kakao", {code_reason(info.slug) for info in CODES.values()})
