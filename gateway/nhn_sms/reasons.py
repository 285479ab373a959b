"""Every reason the NHN Cloud SMS connector gives (registered with :mod:`gateway.port.reasons`).

A reason is a code; the provider's message and any other text go into the
event's ``detail`` (``{"detail": ...}``, ``provider_code``), NHN's own code
into ``code``. A provider answer for one recipient is ``nhn_<class>`` of its
result code (:mod:`gateway.nhn_sms.codes`).
"""

from __future__ import annotations

import enum

from gateway.nhn_sms.codes import CodeClass
from gateway.port import register_reasons

__all__ = ["NhnReason", "code_reason"]


class NhnReason(enum.StrEnum):
    # refused before any request (gateway/nhn_sms/prepare.py)
    WRONG_CHANNEL = "wrong_channel"
    BAD_EXTRAS = "bad_extras"
    BAD_PICTURES = "bad_pictures"
    UNREGISTERED_SENDER = "unregistered_sender"
    AD_PREFIX_MISSING = "ad_prefix_missing"
    AD_OPTOUT_MISSING = "ad_optout_missing"
    AD_OPTOUT_NUMBER_UNKNOWN = "ad_optout_number_unknown"
    NUMBERS_UNAVAILABLE = "nhn_numbers_unavailable"
    # a request without a per-recipient answer (gateway/nhn_sms/sender.py, connector.py)
    PROVIDER_UNAVAILABLE = "nhn_provider_unavailable"
    PROVIDER_DOWN = "nhn_provider_down"
    THROTTLED = "nhn_throttled"
    NOT_TAKEN = "nhn_not_taken"
    NO_ANSWER = "nhn_no_answer"
    LOOKUP_FAILED = "nhn_lookup_failed"
    INTERNAL_ERROR = "nhn_internal_error"
    OPTED_OUT = "opted_out"


def code_reason(cls: str) -> str:
    """The reason for a provider result code of class ``cls``: ``nhn_<class>``."""
    return f"nhn_{cls}"


register_reasons("nhn_sms", NhnReason)
register_reasons("nhn_sms", {code_reason(c.value) for c in CodeClass})
