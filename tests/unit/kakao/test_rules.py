"""Kakao's rules, as NHN documents them, checked on templates before anything is stored or sent."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.kakao.rules import LIMITS, has_auth_word, template_problems
from gateway.kakao.templates import Template

BASE = Template("S" * 40, "ORDER_1", "#{name}님, 주문이 접수되었습니다.")
WL = {"type": "WL", "name": "보기", "linkMo": "https://x.example/#{no}"}
AC = {"type": "AC", "name": "채널 추가"}


def test_a_plain_template_passes() -> None:
    """A basic template within every limit has no problem."""
    assert template_problems(BASE) == []
    assert template_problems(replace(BASE, buttons=(AC, WL), message_type="AD")) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"body": "가" * 1301}, "1301 characters, at most 1300"),
        ({"body": "가" * 701, "item": {"list": [{"title": "a"}, {"title": "b"}]}}, "at most 700"),
        ({"body": " ".join(f"#{{v{i}}}" for i in range(41))}, "41 variables, at most 40"),
        ({"template_code": "X" * 21}, "template code"),
        ({"template_code": "주문"}, "template code"),
        ({"sender_key": "S" * 41}, "sender key has 41"),
        ({"buttons": (WL,) * 6}, "6 buttons, at most 5"),
        ({"buttons": ({"type": "XX", "name": "a"},)}, "has type 'XX'"),
        ({"buttons": ({"type": "BK", "name": "가" * 15},)}, "button 1 name has 15"),
        ({"buttons": ({"type": "BK", "name": "#{x} 보기"},)}, "may not hold a variable"),
        ({"buttons": ({"type": "WL", "name": "a"},)}, "(WL) needs linkMo"),
        ({"buttons": ({"type": "WL", "name": "a", "linkMo": "www.x.example"},)}, "must start with http"),
        ({"buttons": ({"type": "WL", "name": "a", "linkMo": "https://" + "x" * 500},)}, "at most 500"),
        ({"buttons": ({"type": "AL", "name": "a", "schemeIos": "a://"},)}, "needs schemeIos and schemeAndroid"),
        ({"buttons": (WL, AC)}, "(AC, channel add) must be the first button"),
        ({"buttons": ({"type": "AC", "name": "추가"},)}, "must be named '채널 추가'"),
        ({"buttons": (WL, {"type": "BF", "name": "폼", "bizFormId": 1})}, "(BF, business form) must be the first"),
        ({"buttons": ({"type": "TN", "name": "전화", "telNumber": "1588"},)}, "(TN) must be named"),
        ({"buttons": ({"type": "TN", "name": "전화 연결", "telNumber": "1588#1"},)}, "telNumber of digits"),
        ({"message_type": "AD"}, "needs a channel-add (AC) button"),
        ({"message_type": "EX"}, "needs the extra information"),
        ({"message_type": "ZZ"}, "message type 'ZZ'"),
        ({"emphasis": "TEXT", "title": "제목"}, "needs a title and a subtitle"),
        ({"emphasis": "IMAGE"}, "needs an image"),
        ({"title": "가" * 51}, "title has 51"),
        ({"header": "가" * 17}, "header has 17"),
        ({"item": {"list": [{"title": "a", "description": "b"}]}}, "2 to 10 items"),
        ({"item": {"list": [{"title": "가" * 7, "description": "b"}] * 2}}, "item 1 title has 7"),
        ({"item": {"list": [{"title": "a", "description": "가" * 24}] * 2}}, "item 1 description has 24"),
        ({"item": {"list": [{"title": "a"}] * 2, "summary": {"title": "합계", "description": "1" * 15}}}, "summary"),
        (
            {"highlight": {"title": "가" * 22, "imageUrl": "https://x/i.png"}},
            "highlight title has 22 characters, at most 21",
        ),
        ({"highlight": {"description": "가" * 20}}, "highlight description has 20 characters, at most 19"),
        ({"quick_replies": ({"type": "BK", "name": "a"},) * 11}, "11 quick replies, at most 10"),
        ({"quick_replies": ({"type": "BK", "name": "a"},), "buttons": (WL, WL, WL)}, "3 buttons with quick replies"),
        ({"quick_replies": ({"type": "MD", "name": "a"},)}, "quick reply 1 has type 'MD'"),
        ({"auth": True}, "must contain one of"),
    ],
)
def test_each_documented_rule_is_checked(change: dict[str, Any], problem: str) -> None:
    """Every limit of NHN's template and send tables refuses a template that breaks it, naming the field."""
    problems = template_problems(replace(BASE, **change))
    assert any(problem in p for p in problems), problems


def test_authentication_words() -> None:
    """OTP messages need one of NHN's words, English case-insensitively (-8006)."""
    assert has_auth_word("인증번호는 1234입니다") and has_auth_word("Your VERIFICATION code")
    assert not has_auth_word("주문이 접수되었습니다")


def test_the_limits_are_the_documented_ones() -> None:
    """1,300 / 700 characters, 40 variables, 5 buttons, 10 quick replies, names of 14."""
    assert (LIMITS["body"], LIMITS["body_with_item_list"], LIMITS["variables"]) == (1300, 700, 40)
    assert (LIMITS["buttons"], LIMITS["quick_replies"], LIMITS["button_name"]) == (5, 10, 14)
