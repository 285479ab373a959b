"""The Alimtalk fallback is an SMS or an LMS by EUC-KR bytes, as the SMS route reads it (issue 16)."""

from __future__ import annotations

from gateway.kakao import fallback as rule
from gateway.kakao.fallback import fallback_for
from gateway.port import OutboundMessage

LONG = "주문이 접수되었습니다. 카카오톡을 쓰지 않으시는 분께 문자로 알려 드립니다. 주문 내역은 앱에서 확인하세요."


def alimtalk(fallback: object) -> OutboundMessage:
    return OutboundMessage(1, "alimtalk", "KEY", "+821012345678", "본문", extras={"fallback": fallback})


def test_an_lms_fallback_carries_the_type_and_title_the_sms_route_reads() -> None:
    """type LMS: the fallback says extras.type = lms with its title, not a type nothing reads."""
    fb = fallback_for(alimtalk({"type": "LMS", "sender": "15446859", "text": "짧아도 LMS", "title": "안내"}))
    assert fb is not None and fb.channel == "sms"
    assert dict(fb.extras) == {"type": "lms", "title": "안내"}


def test_the_type_follows_the_bytes() -> None:
    """type SMS (or none) over 90 EUC-KR bytes becomes an LMS titled by its first line; 90 bytes stay an SMS."""
    fb = fallback_for(alimtalk({"sender": "15446859", "text": LONG}))
    assert fb is not None and fb.extras["type"] == "lms" and fb.extras["title"]
    short = fallback_for(alimtalk({"type": "SMS", "sender": "15446859", "text": "가" * 45}))
    assert short is not None and dict(short.extras) == {"type": "sms"}
    assert rule.parse_fallback({"type": "SMS", "sender": "1", "text": LONG})[0] == "LMS"  # type: ignore[index]


def test_text_euc_kr_cannot_carry_is_skipped_with_its_reason() -> None:
    """An emoji in the fallback text: the fallback is built to be skipped, and says why (the queue records it)."""
    fb = fallback_for(alimtalk({"sender": "15446859", "text": "완료 😀"}))
    assert fb is not None and fb.skip_reason is not None
    assert fb.skip_reason.startswith("not_encodable: EUC-KR (CP949) cannot carry U+1F600 GRINNING FACE")
    assert rule.fallback_problem({"sender": "1", "text": "완료 😀"}, encodable=True) is not None


def test_malformed_fallbacks_say_what_is_wrong() -> None:
    """Each malformed extras.fallback gets a reason naming the field."""
    expected = "extras.fallback must be an object with text, sender, type and title, not str"
    assert rule.fallback_problem("SMS") == expected
    assert rule.fallback_problem({"sender": "1"}) == "extras.fallback.text is missing or empty"
    assert (
        rule.fallback_problem({"text": "x", "sender": "1", "type": "MMS"})
        == "extras.fallback.type must be SMS or LMS, not 'MMS'"
    )
    assert "has 42 bytes" in (rule.fallback_problem({"text": "x", "sender": "1", "title": "가" * 21}) or "")
    assert "an LMS holds 2,000" in (rule.fallback_problem({"text": "x" * 2001, "sender": "1"}) or "")
