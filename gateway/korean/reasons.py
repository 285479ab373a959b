"""The reasons a Korean message-type refusal gives (registered with :mod:`gateway.port.reasons`).

Connectors that apply the Korean rules (NHN Cloud SMS, SMPP with
``message_types = "korean"``) report :attr:`~gateway.korean.types.Refused.slug`
as the reason; the text goes into the event's detail.
"""

from __future__ import annotations

import enum

from gateway.port import register_reasons

__all__ = ["KoreanReason"]


class KoreanReason(enum.StrEnum):
    TOO_LONG = "too_long"  # over 2,000 EUC-KR bytes for an LMS/MMS (the byte count in the detail)
    UNENCODABLE = "unencodable"  # characters EUC-KR cannot carry (named in the detail)
    TITLE_MISSING = "title_missing"  # an LMS/MMS needs a title and the body has no text line to use
    TITLE_TOO_LONG = "title_too_long"  # the title is over 40 bytes
    LMS_ABROAD = "lms_abroad"  # an LMS/MMS to a number outside Korea
    TYPE_UNSUPPORTED = "type_unsupported"  # the route cannot carry the asked type (e.g. MMS over SMPP)
    ATTACHMENTS_NEED_MMS = "attachments_need_mms"  # pictures on a message asked to be an SMS/LMS
    MMS_WITHOUT_PICTURES = "mms_without_pictures"  # type mms with no attachment


register_reasons("korean", KoreanReason)
