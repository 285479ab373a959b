"""Korean message types: bytes as carriers count them, the type choice, pictures."""

from __future__ import annotations

import pytest

from gateway.korean import (
    MAX_PICTURE_BYTES,
    Chosen,
    MessageType,
    Picture,
    Refused,
    SpecError,
    TypeRequest,
    choose_type,
    is_korean_number,
    jpeg_size,
    korean_bytes,
    parse_request,
    pictures_problem,
)
from tests.support.nhn_sms import example_jpeg, jpeg, picture

AUTO = TypeRequest()


def korean(body: str, request: TypeRequest = AUTO, **kw: object) -> Chosen | Refused:
    return choose_type(body, request, korean_recipient=True, korean_route=True, **kw)  # type: ignore[arg-type]


def text_of(n: int) -> str:
    """A Hangul/ASCII text of exactly ``n`` bytes in EUC-KR."""
    return "가" * (n // 2) + "a" * (n % 2)


@pytest.mark.parametrize(
    ("size", "kind"),
    [
        (89, MessageType.SMS),
        (90, MessageType.SMS),
        (91, MessageType.LMS),
        (1999, MessageType.LMS),
        (2000, MessageType.LMS),
    ],
)
def test_auto_picks_sms_up_to_90_bytes_and_lms_up_to_2000(size: int, kind: MessageType) -> None:
    """auto: 89 and 90 bytes are an SMS, 91, 1,999 and 2,000 bytes an LMS."""
    body = text_of(size)
    assert korean_bytes(body) == size
    choice = korean(body)
    assert isinstance(choice, Chosen) and choice.type is kind and choice.bytes == size


def test_2001_bytes_are_too_long_with_the_count_in_the_reason() -> None:
    """auto over 2,000 bytes fails too_long, and the reason says how many bytes."""
    choice = korean(text_of(2001))
    assert isinstance(choice, Refused) and choice.slug == "too_long"
    assert choice.reason == "too_long: 2,001 bytes in EUC-KR (CP949); an LMS holds 2,000"
    assert choice.detail["bytes"] == 2001


def test_mixed_hangul_and_ascii_counts_bytes_not_characters() -> None:
    """A 62-character notice of 95 bytes (Hangul 2, ASCII 1) is an LMS although it has far fewer than 90 characters."""
    body = "[공지] 내일 10:00~12:00 시스템 점검으로 앱을 쓸 수 없습니다. 이용에 참고 바랍니다 :) 감사합니다"
    assert (len(body), korean_bytes(body)) == (62, 95)
    choice = korean(body)
    assert isinstance(choice, Chosen) and choice.type is MessageType.LMS and choice.bytes == 95
    shorter = body.removesuffix(" 감사합니다")
    assert (len(shorter), korean_bytes(shorter)) == (56, 84)
    assert korean(shorter) == Chosen(MessageType.SMS, 84)


def test_hangul_outside_ks_x_1001_counts_two_bytes() -> None:
    """'똠' is 2 bytes in CP949 (Python's euc_kr would write 8): counted as carriers count it."""
    assert korean_bytes("똠") == 2
    assert len("똠".encode("euc_kr")) == 8
    assert korean(text_of(88) + "똠") == Chosen(MessageType.SMS, 90)


def test_an_emoji_is_refused_with_its_name() -> None:
    """Text with an emoji fails unencodable, naming the character and where it is."""
    choice = korean("결제 완료 😀 감사합니다 ₩")
    assert isinstance(choice, Refused) and choice.slug == "unencodable"
    assert choice.reason == "unencodable: EUC-KR (CP949) cannot carry U+1F600 GRINNING FACE '😀'; U+20A9 WON SIGN '₩'"
    assert choice.detail["positions"] == [6, 14]
    assert "U+20A9 WON SIGN" in choice.reason
    assert choice.detail["characters"] == ["U+1F600", "U+20A9"]


def test_a_ucs2_route_may_carry_what_euc_kr_cannot() -> None:
    """On a route that can carry UCS-2 the emoji goes, counted as its UTF-16 bytes."""
    choice = korean("완료 😀", ucs2=True)
    assert isinstance(choice, Chosen) and choice.type is MessageType.SMS and choice.bytes == 4 + 1 + 4


def test_explicit_types() -> None:
    """sms over 90 bytes is too_long (never an LMS); lms stays an LMS when short; mms needs pictures."""
    sms = korean(text_of(91), TypeRequest(MessageType.SMS))
    assert isinstance(sms, Refused) and sms.reason.startswith("too_long: 91 bytes") and "an SMS holds 90" in sms.reason
    assert korean("짧은 글", TypeRequest(MessageType.LMS, "제목")) == Chosen(MessageType.LMS, 7, "제목")
    assert isinstance(korean("x", TypeRequest(MessageType.MMS)), Refused)
    mms = korean("x", TypeRequest(MessageType.AUTO, "사진", (7,)))
    assert mms == Chosen(MessageType.MMS, 1, "사진")
    assert korean("x", TypeRequest(MessageType.LMS, None, (7,))).slug == "attachments_need_mms"  # type: ignore[union-attr]


def test_titles() -> None:
    """An LMS without a title takes its first line (cut to 40 bytes); a title over 40 bytes is refused."""
    body = "가나다라마바사아자차카타파하가나다라마바사아자차\n둘째 줄"
    choice = korean(body + "가" * 40)
    assert isinstance(choice, Chosen) and choice.title == "가나다라마바사아자차카타파하가나다라마바"
    long_title = korean("x" * 100, TypeRequest(MessageType.AUTO, "가" * 21))
    assert isinstance(long_title, Refused) and long_title.slug == "title_too_long"


def test_not_korean() -> None:
    """Abroad, or on a route without Korean types, auto stays a (segmented) SMS and LMS/MMS are refused."""
    assert choose_type("x" * 500, AUTO, korean_recipient=False, korean_route=True) == Chosen(MessageType.SMS)
    abroad = choose_type("x", TypeRequest(MessageType.LMS), korean_recipient=False, korean_route=True)
    assert isinstance(abroad, Refused) and abroad.slug == "lms_abroad"
    route = choose_type("x", TypeRequest(MessageType.LMS), korean_recipient=True, korean_route=False)
    assert isinstance(route, Refused) and route.slug == "type_unsupported"


def test_parse_request() -> None:
    """extras.type/title/attachments are read and checked."""
    assert parse_request({"type": "MMS", "title": "t", "attachments": [3, 4]}) == TypeRequest(
        MessageType.MMS, "t", (3, 4)
    )
    for bad in ({"type": "fax"}, {"title": 3}, {"attachments": "3"}, {"attachments": [1, 1]}, {"attachments": [True]}):
        with pytest.raises(SpecError):
            parse_request(bad)


def test_korean_numbers() -> None:
    """+82 and national 0... numbers are Korean; others are not."""
    assert is_korean_number("+821012345678") and is_korean_number("01012345678") and is_korean_number("0212345678")
    assert not is_korean_number("+14155550100") and not is_korean_number("15880000")


def test_jpeg_size_reads_the_frame_header() -> None:
    """The example JPEG is 29×26; a rewritten frame header is read back; other bytes are not a JPEG."""
    assert jpeg_size(example_jpeg()) == (29, 26)
    assert jpeg_size(jpeg(width=1001, height=20)) == (1001, 20)
    assert jpeg_size(jpeg(size=200_000)) == (29, 26)
    assert jpeg_size(b"\x89PNG\r\n\x1a\n" + bytes(100)) is None
    assert jpeg_size(example_jpeg()[:300]) is None


def test_picture_limits() -> None:
    """At most 3 pictures, each a JPEG of at most 300 KB and 1000×1000 px, 800 KB together."""
    ok = [picture(i) for i in range(1, 4)]
    assert pictures_problem(ok) is None
    assert pictures_problem([*ok, picture(4)]) == "4 pictures; an MMS holds at most 3"
    big = picture(5, size=301 * 1024)
    assert pictures_problem([big]) == f"picture 5 has {301 * 1024:,} bytes; the limit is {MAX_PICTURE_BYTES:,} (300 KB)"
    assert pictures_problem([picture(6, width=1000, height=1000)]) is None
    assert pictures_problem([picture(6, width=1001)]) == "picture 6 is 1001×26 px; the limit is 1000×1000"
    heavy = [picture(i, size=290_000) for i in (7, 8, 9)]
    assert pictures_problem(heavy) == "the pictures have 870,000 bytes together; the limit is 819,200 (800 KB)"
    assert "not a JPEG" in (pictures_problem([Picture(10, "x.jpg", b"GIF89a" + bytes(10))]) or "")
    assert "file name" in (pictures_problem([Picture(11, "x.png", example_jpeg())]) or "")
