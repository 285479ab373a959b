"""The sans-I/O NHN v2.3 codec: request shapes, answer parsing, pairing, webhook bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from gateway.httpclient import (
    HttpResponse,
    ProviderProtocolError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
)
from gateway.kakao.nhn import NhnAlimtalkApi
from gateway.kakao.provider import RecipientRequest, Resend, SendBatch

API = NhnAlimtalkApi("APPKEY", "SECRET")
BATCH = SendBatch(
    "SK",
    "TPL",
    (
        RecipientRequest(1, "01011112222", "본문 1", grouping_key="gw-1"),
        RecipientRequest(
            2,
            "01033334444",
            "본문 2",
            buttons=({"type": "WL", "name": "열기", "linkMo": "https://x/2", "note": "not NHN's"},),
            resend=Resend("SMS", "대체", "15880000"),
            grouping_key="gw-2",
            title="제목",
            header="헤더",
            item={"list": [{"title": "a", "description": "b"}, {"title": "c", "description": "d"}]},
            highlight={"title": "t", "description": "d", "imageUrl": None},
            represent_link={"linkMo": "https://x/r", "linkPc": None},
            quick_replies=({"type": "WL", "name": "바로", "linkMo": "https://x/q"},),
        ),
    ),
    "gw-key",
    resend_off=True,
)
OK = {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"}


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, headers or {}, raw)


def sent(results: list[dict], request_id: str | None = "REQ1", header: dict | None = None) -> HttpResponse:
    return answer(200, {"header": header or OK, "message": {"requestId": request_id, "sendResults": results}})


def test_send_request_shape() -> None:
    """POST raw-messages, the provider key as idempotency key and senderGroupingKey, every template field."""
    req = API.send_request(BATCH)
    assert (req.method, req.path) == ("POST", "/alimtalk/v2.3/appkeys/APPKEY/raw-messages")
    assert req.headers["X-Secret-Key"] == "SECRET"
    assert req.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert req.headers["X-NC-API-IDEMPOTENCY-KEY"] == "gw-key"
    body = json.loads(req.body)
    assert (body["senderKey"], body["templateCode"], body["senderGroupingKey"]) == ("SK", "TPL", "gw-key")
    first, second = body["recipientList"]
    assert first == {
        "recipientNo": "01011112222",
        "content": "본문 1",
        "resendParameter": {"isResend": False},  # gateway mode: NHN must not resend by itself
        "recipientGroupingKey": "gw-1",
    }
    assert second["buttons"] == [{"ordering": 1, "type": "WL", "name": "열기", "linkMo": "https://x/2"}]
    assert second["quickReplies"] == [{"ordering": 1, "type": "WL", "name": "바로", "linkMo": "https://x/q"}]
    assert (second["templateTitle"], second["templateHeader"]) == ("제목", "헤더")
    assert second["templateItem"]["list"][1] == {"title": "c", "description": "d"}
    assert second["templateItemHighlight"] == {"title": "t", "description": "d"}
    assert second["templateRepresentLink"] == {"linkMo": "https://x/r"}
    assert second["resendParameter"] == {
        "isResend": True,
        "resendType": "SMS",
        "resendContent": "대체",
        "resendSendNo": "15880000",
    }


def test_authentication_templates_use_the_auth_endpoint() -> None:
    """An OTP batch goes to /auth/raw-messages; provider mode sends no isResend=false."""
    batch = SendBatch("SK", "OTP", (RecipientRequest(1, "010", "인증번호 1234"),), "gw-k", auth=True)
    req = API.send_request(batch)
    assert req.path == "/alimtalk/v2.3/appkeys/APPKEY/auth/raw-messages"
    assert "resendParameter" not in json.loads(req.body)["recipientList"][0]


def test_answer_maps_each_recipient_by_grouping_key() -> None:
    """Recipients are paired by recipientGroupingKey whatever the order; accepted ones get requestId:recipientSeq."""
    parsed = API.parse_send_response(
        BATCH,
        sent(
            [
                {"recipientSeq": 2, "resultCode": -2019, "resultMessage": "too long", "recipientGroupingKey": "gw-2"},
                {"recipientSeq": 1, "resultCode": 0, "resultMessage": "SUCCESS", "recipientGroupingKey": "gw-1"},
            ]
        ),
    )
    assert parsed.request_id == "REQ1"
    assert sorted((r.index, r.code, r.carrier_id) for r in parsed.recipients) == [
        (0, "0", "REQ1:1"),
        (1, "-2019", None),
    ]
    assert parsed.missing == ()


def test_answer_without_grouping_keys_pairs_by_sequence_and_never_guesses() -> None:
    """No grouping key: paired by recipientSeq; a recipient the answer does not name is 'missing'."""
    parsed = API.parse_send_response(BATCH, sent([{"recipientSeq": 2, "resultCode": 0, "recipientGroupingKey": None}]))
    assert [(r.index, r.carrier_id) for r in parsed.recipients] == [(1, "REQ1:2")]
    assert parsed.missing == (0,)
    wrong = API.parse_send_response(BATCH, sent([{"recipientSeq": 1, "resultCode": 0, "recipientGroupingKey": "gw-9"}]))
    assert wrong.recipients == () and wrong.missing == (0, 1)


def test_all_recipients_failed_answer_is_per_recipient() -> None:
    """Header -1031 with requestId null: each recipient keeps its own code (not the header's)."""
    header = {"isSuccessful": False, "resultCode": -1031, "resultMessage": "All of receivers are failed to send."}
    results = [
        {"recipientSeq": 1, "resultCode": -4019, "recipientGroupingKey": "gw-1"},
        {"recipientSeq": 2, "resultCode": -4019, "recipientGroupingKey": "gw-2"},
    ]
    parsed = API.parse_send_response(BATCH, sent(results, request_id=None, header=header))
    assert parsed.code == "-1031" and parsed.request_id is None
    assert [(r.code, r.carrier_id) for r in parsed.recipients] == [("-4019", None), ("-4019", None)]


def test_accepted_without_ids_is_missing_and_provider_resends_keep_their_ids() -> None:
    """Code 0 without a requestId cannot be used (missing); -3010 keeps its ids for NHN's own resend."""
    no_id = API.parse_send_response(BATCH, sent([{"recipientSeq": 1, "resultCode": 0}], request_id=None))
    assert 0 in no_id.missing
    resend = API.parse_send_response(BATCH, sent([{"recipientSeq": 1, "resultCode": -3010}]))
    assert resend.recipients[0].carrier_id == "REQ1:1"


@pytest.mark.parametrize(
    ("response", "error", "check"),
    [
        (answer(429, b"", {"retry-after": "7"}), ProviderThrottled, lambda e: e.retry_after == 7),
        (answer(503, b"down"), ProviderUnavailable, lambda e: e.maybe_sent is False and e.status == 503),
        (answer(504, b"gateway timeout"), ProviderUnavailable, lambda e: e.maybe_sent is True),
        (
            answer(200, {"header": {"isSuccessful": False, "resultCode": -9999, "resultMessage": "System error."}}),
            ProviderRejected,
            lambda e: (e.code, e.provider_message) == ("-9999", "System error."),
        ),
        (
            answer(
                500, {"header": {"isSuccessful": False, "resultCode": -1001, "resultMessage": "Invalid secretKey."}}
            ),
            ProviderRejected,
            lambda e: e.code == "-1001" and e.status == 500,
        ),
        (answer(403, b"<html>forbidden</html>"), ProviderRejected, lambda e: e.code == "http_403"),
        (answer(200, b"<html>oops</html>"), ProviderProtocolError, lambda e: True),
        (answer(200, {"header": OK, "message": None}), ProviderProtocolError, lambda e: "sendResults" in str(e)),
    ],
    ids=["429", "503", "504", "header-9999", "json-header-wins", "403-no-header", "not-json", "success-no-results"],
)
def test_answers_that_are_not_per_recipient_raise(response: HttpResponse, error: type, check) -> None:
    """Throttling, outages, whole-request rejections and unreadable answers raise the right error."""
    with pytest.raises(error) as info:
        API.parse_send_response(BATCH, response)
    assert check(info.value)


def test_list_query_finds_by_provider_key_in_a_window() -> None:
    """What NHN holds under a senderGroupingKey: the date window in KST minutes, paged by 1,000."""
    since, until = datetime(2024, 1, 1, 0, 0, tzinfo=UTC), datetime(2024, 1, 3, 0, 0, tzinfo=UTC)
    req = API.list_request("gw-key", since, until, auth=False, page=2)
    assert req.path == "/alimtalk/v2.3/appkeys/APPKEY/messages"
    assert req.params == {
        "startRequestDate": "2024-01-01 09:00",
        "endRequestDate": "2024-01-03 09:00",
        "senderGroupingKey": "gw-key",
        "pageNum": "2",
        "pageSize": "1000",
    }
    assert API.list_request("k", since, until, auth=True).path.endswith("/auth/messages")
    page = {
        "messages": [
            {"requestId": "R", "recipientSeq": 3, "recipientGroupingKey": "gw-7", "messageStatus": None},
            {"requestId": "R", "recipientSeq": 4, "recipientGroupingKey": None},
        ],
        "totalCount": 2,
    }
    found, total = API.parse_list_response(answer(200, {"header": OK, "messageSearchResultResponse": page}))
    assert total == 2 and [(f.grouping_key, f.carrier_id) for f in found] == [("gw-7", "R:3")]


def test_result_updates_and_single_query() -> None:
    """Result updates in a window (NORMAL or AUTH), final by resultCode; the single query carries the resend."""
    since, until = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
    req = API.results_request(since, until, auth=True)
    assert req.path.endswith("/message-results") and req.params["alimtalkMessageType"] == "AUTH"
    rows = [
        {"requestId": "R", "recipientSeq": 1, "resultCode": "1000", "receiveDate": "2024-01-01 09:00:01.0"},
        {"requestId": "R", "recipientSeq": 2, "resultCode": None, "messageStatus": None},
        {"requestId": "R", "recipientSeq": 3, "resultCode": "4161"},
    ]
    reports = API.parse_results_response(answer(200, {"header": OK, "messages": rows}))
    assert [(r.carrier_id, r.final) for r in reports] == [("R:1", True), ("R:2", False), ("R:3", False)]
    assert API.one_request("R", 2, auth=False).path == "/alimtalk/v2.3/appkeys/APPKEY/messages/R/2"
    one = {"requestId": "R", "recipientSeq": 2, "resultCode": "3019", "resendStatus": "RSC04",
           "resendResultCode": "1000", "resendRequestId": "SMS-1"}  # fmt: skip
    report = API.parse_one_response(answer(200, {"header": OK, "message": one}))
    assert report is not None
    assert (report.resend_status, report.resend_code, report.resend_request_id) == ("RSC04", "1000", "SMS-1")


def hooks(*items: dict, app_key: str = "APPKEY", event: str = "MESSAGE_RESULT_UPDATE") -> bytes:
    envelope = {"hooksId": "h", "webhookConfigId": "w", "productName": "KakaoTalk Bizmessage", "appKey": app_key,
                "event": event, "hooks": list(items)}  # fmt: skip
    return json.dumps(envelope).encode()


def test_webhook_result_hooks() -> None:
    """A hook with a resultCode is final; other products and another app key are ignored; garbage raises."""
    alimtalk = {"kakaoMessageType": "ALIMTALK_NORMAL", "requestId": "R", "recipientSeq": "4", "resultCode": "1000",
                "receiveDate": "2023-06-01", "hookId": "h-1", "recipientGroupingKey": "gw-9"}  # fmt: skip
    friend = {**alimtalk, "kakaoMessageType": "FRIENDTALK_NORMAL"}
    parsed = API.parse_webhook(hooks(alimtalk, friend))
    [report] = parsed.reports
    assert (report.carrier_id, report.final, report.code, report.hook_id) == ("R:4", True, "1000", "h-1")
    assert report.done_at is not None and report.done_at.isoformat() == "2023-06-01T00:00:00+09:00"
    assert parsed.ignored == 1
    assert API.parse_webhook(hooks(alimtalk, app_key="other")).reports == ()
    for bad in (b"[", b"[]", b'{"hooks": [1]}', b'{"hooks": [{"requestId": "R", "recipientSeq": true}]}'):
        with pytest.raises(ProviderProtocolError):
            API.parse_webhook(bad)


def test_webhook_template_hooks() -> None:
    """A template-status hook is recognised by its fields, whatever its (undocumented) event name."""
    hook = {"senderKey": "SK", "templateCode": "T", "kakaoTemplateCode": "T", "status": "TSC04",
            "comments": [{"content": "반려 사유"}], "updateDate": "2022-05-01 00:00:00", "hookId": "t-1"}  # fmt: skip
    [update] = API.parse_webhook(hooks(hook, event="ANYTHING")).templates
    assert (update.sender_key, update.template_code, update.status, update.comments) == (
        "SK",
        "T",
        "TSC04",
        ("반려 사유",),
    )
