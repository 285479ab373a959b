"""Choosing the endpoint and refusing what NHN would refuse, before any request."""

from __future__ import annotations

from gateway.korean import MessageType
from gateway.nhn_sms.numbers import NumberBook
from gateway.nhn_sms.prepare import Plan, Prepared, plan, prepare
from gateway.port import Outcome, SendResult
from tests.support.nhn_sms import make_config, message, picture
from tests.support.reasons import said

CONFIG = make_config()


def book(senders: dict[str, bool] | None = None, optouts: dict[str, bool] | None = None) -> NumberBook:
    b = NumberBook(connector="nhn", adapter=None)  # type: ignore[arg-type]
    b.senders = {"15446859": True, "15880000": False} if senders is None else senders
    b.optouts = {"0808880327": True} if optouts is None else optouts
    return b


def planned(msg):
    p = plan(msg, CONFIG)
    assert isinstance(p, Plan), p
    return p


def test_endpoints_by_type_and_kind() -> None:
    """SMS, LMS and MMS go to sender/sms and sender/mms; advertising to ad-sms / ad-mms; the carrier id is the key."""
    assert planned(message(1, "짧은 안내")).endpoint == "sms"
    lms = planned(message(2, "가" * 46))
    assert (lms.type, lms.endpoint, lms.cost, lms.recipient.grouping_key) == (MessageType.LMS, "mms", 1, "gw-2")
    assert lms.recipient.recipient_no == "01012345678"
    ad = "(광고) 겨울 세일 50%\n무료수신거부 080-888-0327"
    assert planned(message(3, ad, kind="advertising")).endpoint == "ad-sms"
    assert planned(message(4, ad * 3, kind="advertising")).endpoint == "ad-mms"
    assert planned(message(5, "x", extras={"attachments": [1]})).type is MessageType.MMS


def test_international_sms_counts_parts_and_refuses_lms() -> None:
    """Abroad: SMS only, cost = NHN's billed parts (GSM-7 153, UCS-2 67 per part); LMS is refused (-2024)."""
    us = "+14155550100"
    p = planned(message(1, "x" * 161, recipient=us))
    assert (p.type, p.cost, p.recipient.international_no, p.recipient.recipient_no) == (
        MessageType.SMS,
        2,
        "14155550100",
        None,
    )
    assert planned(message(2, "한" * 71, recipient=us)).cost == 2
    refused = plan(message(3, "x", recipient=us, extras={"type": "lms"}), CONFIG)
    assert isinstance(refused, SendResult) and said(refused).startswith("lms_abroad")
    emoji = plan(message(4, "hi 😀", recipient=us), CONFIG)
    assert isinstance(emoji, SendResult) and "GRINNING FACE" in said(emoji)


def test_unregistered_sender_fails_without_a_request() -> None:
    """A sender number NHN does not list as registered and unblocked is FAILED unregistered_sender."""
    for sender in ("15889999", "15880000"):  # not listed / listed but blocked
        msg = message(1, sender=sender)
        result = prepare(msg, planned(msg), numbers=book(), pictures={})
        assert isinstance(result, SendResult) and result.outcome is Outcome.FAILED
        assert said(result).startswith("unregistered_sender: ")
    ok = message(2, sender="+82 1544-6859")
    assert isinstance(prepare(ok, planned(ok), numbers=book(), pictures={}), Prepared)


def test_unknown_senders_hold_messages_until_the_list_loads() -> None:
    """Before NHN's sender list could be loaded nothing is sent and nothing fails: RETRY."""
    msg = message(1)
    result = prepare(msg, planned(msg), numbers=NumberBook(connector="n", adapter=None), pictures={})  # type: ignore[arg-type]
    assert isinstance(result, SendResult) and result.outcome is Outcome.RETRY


def test_advertising_wording_and_its_080_number() -> None:
    """Advertising needs (광고) first and 무료수신거부 + an 080 number of the project's opt-out service last."""
    good = message(1, "(광고) 테스트\n [무료 수신 거부]0808880327", kind="advertising")
    assert isinstance(prepare(good, planned(good), numbers=book(), pictures={}), Prepared)
    for body, slug in (
        ("테스트 무료수신거부 0808880327", "ad_prefix_missing"),
        ("(광고) 테스트", "ad_optout_missing"),
        ("(광고) 테스트 무료거부 080-123-4567", "ad_optout_number_unknown"),
    ):
        msg = message(2, body, kind="advertising")
        result = prepare(msg, planned(msg), numbers=book(), pictures={})
        assert isinstance(result, SendResult) and said(result).startswith(slug), body


def test_pictures_are_checked_before_any_request() -> None:
    """4 pictures, a 301 KB picture or a missing one fail bad_pictures in prepare."""
    four = message(1, "x", extras={"type": "mms"})
    four = message(1, "x", extras={"attachments": [1, 2, 3, 4]})
    assert isinstance(plan(four, CONFIG), Plan)
    pics = {i: picture(i) for i in (1, 2, 3, 4)}
    result = prepare(four, planned(four), numbers=book(), pictures=pics)
    assert isinstance(result, SendResult) and said(result) == "bad_pictures: 4 pictures; an MMS holds at most 3"
    big = message(2, "x", extras={"attachments": [5]})
    result = prepare(big, planned(big), numbers=book(), pictures={5: picture(5, size=301 * 1024)})
    assert isinstance(result, SendResult) and "308,224 bytes" in said(result)
    missing = message(3, "x", extras={"attachments": [9]})
    result = prepare(missing, planned(missing), numbers=book(), pictures={})
    assert isinstance(result, SendResult) and said(result) == "bad_pictures: attachment(s) [9] do not exist"


def test_rate_limit_cost_counts_lms_by_message_and_sms_abroad_by_part() -> None:
    """Connector.cost: a Korean SMS, LMS or MMS costs 1; an international SMS its billed parts; a refusal 1."""
    from gateway.nhn_sms import NhnSmsConnector

    connector = NhnSmsConnector(CONFIG)
    assert connector.cost(message(1, "가" * 900)) == 1
    assert connector.cost(message(2, "x" * 400, recipient="+14155550100")) == 3
    assert connector.cost(message(3, "😀")) == 1
