"""SMPP to Korean carriers: 90 EUC-KR bytes per SMS, LMS refused or sent as multipart, explicit types."""

from __future__ import annotations

from gateway.port import OutboundMessage, Outcome, SendResult
from gateway.smpp.outbound import Preparer
from tests.support.reasons import said
from tests.support.smpp_connector import config as _config


def config(**overrides: object):
    return _config(2775, **overrides)


NOTICE_96 = "[Notice] 10/21 02:00-04:00 서버 점검으로 앱 접속이 안 됩니다. 양해 부탁드립니다. (help: 1588-00)"


def message(body: str, recipient: str = "+821012345678", **extras: object) -> OutboundMessage:
    return OutboundMessage(1, "sms", "15880000", recipient, body, extras=dict(extras))


def test_a_96_byte_korean_notice_is_not_split_into_two_sms_at_a_korean_carrier() -> None:
    """message_types = korean, lms = refuse: the 96-byte notice fails lms_unsupported with its byte count."""
    assert len(NOTICE_96.encode("cp949")) == 96
    today = Preparer(config()).segment(message(NOTICE_96))
    assert isinstance(today, list) and len(today) == 2  # what a Korean handset got: two UCS-2 parts
    refused = Preparer(config(message_types="korean", lms="refuse")).segment(message(NOTICE_96))
    assert isinstance(refused, SendResult) and refused.outcome is Outcome.FAILED
    assert said(refused).startswith("lms_unsupported: 96 bytes in EUC-KR (CP949) need an LMS")
    assert refused.detail is not None and (refused.detail["bytes"], refused.detail["message_type"]) == (96, "lms")


def test_multipart_sends_what_needs_an_lms_as_concatenated_sms() -> None:
    """lms = multipart: the same notice goes as the connector's concatenated SMS; 90 bytes stay one SMS."""
    cut = Preparer(config(message_types="korean", lms="multipart", allowed_encodings=("gsm7", "ucs2", "euckr")))
    parts = cut.segment(message(NOTICE_96))
    assert isinstance(parts, list) and len(parts) == 1 and parts[0].data_coding == 0x0E  # one EUC-KR PDU of 96 octets
    ninety = "가" * 45
    single = cut.segment(message(ninety))
    assert isinstance(single, list) and len(single) == 1


def test_korean_rules_apply_to_korean_numbers_only() -> None:
    """A number abroad keeps today's segmentation on a korean connector."""
    parts = Preparer(config(message_types="korean")).segment(message(NOTICE_96, recipient="+14155550100"))
    assert isinstance(parts, list) and len(parts) == 2


def test_text_euc_kr_cannot_carry_is_refused_unless_ucs2_is_allowed() -> None:
    """korean, EUC-KR only: an emoji fails unencodable with its name; with UCS-2 allowed it goes."""
    refused = Preparer(config(message_types="korean", data_coding="euckr")).segment(message("완료 😀"))
    assert isinstance(refused, SendResult) and "U+1F600 GRINNING FACE" in said(refused)
    sent = Preparer(config(message_types="korean")).segment(message("완료 😀"))
    assert isinstance(sent, list) and len(sent) == 1


def test_explicit_types_and_pictures() -> None:
    """extras.type mms / pictures: SMPP carries no pictures; lms on a segment connector or abroad is refused."""
    mms = Preparer(config(message_types="korean", lms="multipart")).segment(message("x", type="mms", attachments=[3]))
    assert isinstance(mms, SendResult) and said(mms).startswith("type_unsupported: SMPP carries no pictures")
    lms = Preparer(config()).segment(message("x", type="lms"))
    assert isinstance(lms, SendResult) and said(lms).startswith("type_unsupported")
    abroad = Preparer(config(message_types="korean")).segment(message("x", recipient="+14155550100", type="lms"))
    assert isinstance(abroad, SendResult) and said(abroad).startswith("lms_abroad")
    sms = Preparer(config()).segment(message("hello", type="sms"))
    assert isinstance(sms, list) and len(sms) == 1
    bad = Preparer(config()).segment(message("x", type="fax"))
    assert isinstance(bad, SendResult) and said(bad).startswith("bad_extras: extras.type must be one of")
