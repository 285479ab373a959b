"""Korean text-message rules: SMS, LMS and MMS the way Korean carriers count them (pure, no I/O).

Korean senders send three kinds of text message, and none of them is a
concatenated SMS: **SMS** up to 90 bytes, **LMS** up to 2,000 bytes with a
title, **MMS** an LMS with up to 3 JPEG pictures. Bytes are counted the way
Korean carriers and NHN Cloud count them: in CP949 (MS949, the superset of
EUC-KR that holds all 11,172 Hangul syllables), ASCII one byte, everything
else two. Used by every connector that sends to Korean numbers (NHN Cloud SMS,
SMPP to Korean carriers) and by the Alimtalk fallback, which is why it is a
room of its own below the connectors.

* :mod:`~gateway.korean.text`: byte counting, the characters a text cannot be
  sent with (named, with their Unicode names), Korean numbers;
* :mod:`~gateway.korean.types`: :class:`MessageType`, the upstream's request
  (``extras.type`` / ``title`` / ``attachments``) and the choice of type;
* :mod:`~gateway.korean.pictures`: MMS picture limits and the JPEG size reader.
"""

from gateway.korean.pictures import (
    MAX_PICTURE_BYTES,
    MAX_PICTURE_PIXELS,
    MAX_PICTURES,
    MAX_PICTURES_TOTAL_BYTES,
    Picture,
    jpeg_size,
    picture_problem,
    pictures_problem,
)
from gateway.korean.reasons import KoreanReason
from gateway.korean.text import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    TITLE_MAX_BYTES,
    describe_characters,
    is_korean_number,
    korean_bytes,
    unencodable,
)
from gateway.korean.types import Chosen, MessageType, Refused, SpecError, TypeRequest, choose_type, parse_request

__all__ = [
    "LMS_MAX_BYTES",
    "MAX_PICTURES",
    "MAX_PICTURES_TOTAL_BYTES",
    "MAX_PICTURE_BYTES",
    "MAX_PICTURE_PIXELS",
    "SMS_MAX_BYTES",
    "TITLE_MAX_BYTES",
    "Chosen",
    "KoreanReason",
    "MessageType",
    "Picture",
    "Refused",
    "SpecError",
    "TypeRequest",
    "choose_type",
    "describe_characters",
    "is_korean_number",
    "jpeg_size",
    "korean_bytes",
    "parse_request",
    "picture_problem",
    "pictures_problem",
    "unencodable",
]
