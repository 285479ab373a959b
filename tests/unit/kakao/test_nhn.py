"""The sans-I/O NHN v2.3 codec: request shape, answer parsing, webhook bodies."""

from __future__ import annotations

import json

import pytest

from gateway.kakao.errors import ProviderProtocolError, ProviderRejected, ProviderThrottled, ProviderUnavailable
from gateway.kakao.nhn import NhnAlimtalkApi
from gateway.kakao.provider import RecipientRequest, Resend, SendBatch
from gateway.kakao.transport import HttpResponse

API = NhnAlimtalkApi("APPKEY", "SECRET")
BATCH = SendBatch(
    "SK",
    "TPL",
    (
        RecipientRequest(1, "01011112222", "본문 1", grouping_key="k1"),
        RecipientRequest(
            2,
            "01033334444",
            "본문 2",
            buttons=({"ordering": 1, "type": "WL", "name": "열기"},),
            resend=Resend("SMS", "대체", "15880000"),
            grouping_key="k2",
        ),
    ),
    "gw-idem",
)


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, headers or {}, raw)


def ok_answer(results: list[dict]) -> HttpResponse:
    return answer(
        200,
        {
            "header": {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"},
            "message": {"requestId": "REQ1", "sendResults": results},
        },
    )


def test_send_request_shape() -> None:
    """POST raw-messages under the app key, X-Secret-Key and idempotency headers, NHN field names."""
    req = API.send_request(BATCH)
    assert (req.method, req.path) == ("POST", "/alimtalk/v2.3/appkeys/APPKEY/raw-messages")
    assert req.headers["X-Secret-Key"] == "SECRET"
    assert req.headers["X-NC-API-IDEMPOTENCY-KEY"] == "gw-idem"
    body = json.loads(req.body)
    assert body["senderKey"] == "SK" and body["templateCode"] == "TPL"
    first, second = body["recipientList"]
    assert first == {"recipientNo": "01011112222", "content": "본문 1", "recipientGroupingKey": "k1"}
    assert second["buttons"] == [{"ordering": 1, "type": "WL", "name": "열기"}]
    assert second["resendParameter"] == {
        "isResend": True,
        "resendType": "SMS",
        "resendContent": "대체",
        "resendSendNo": "15880000",
    }


def test_answer_maps_each_recipient() -> None:
    """Accepted recipients get "{requestId}:{recipientSeq}"; refused ones keep their code and message."""
    parsed = API.parse_send_response(
        BATCH,
        ok_answer(
            [
                {
                    "recipientSeq": 1,
                    "recipientNo": "01011112222",
                    "resultCode": 0,
                    "resultMessage": "SUCCESS",
                    "recipientGroupingKey": "k1",
                },
                {
                    "recipientSeq": 2,
                    "recipientNo": "01033334444",
                    "resultCode": -2019,
                    "resultMessage": "too long",
                    "recipientGroupingKey": "k2",
                },
            ]
        ),
    )
    assert parsed.request_id == "REQ1"
    assert [(r.index, r.code, r.carrier_id) for r in parsed.recipients] == [(0, "0", "REQ1:1"), (1, "-2019", None)]
    assert parsed.recipients[1].message == "too long"


@pytest.mark.parametrize(
    ("response", "error", "check"),
    [
        (answer(429, b"", {"retry-after": "7"}), ProviderThrottled, lambda e: e.retry_after == 7),
        (answer(503, b"down"), ProviderUnavailable, lambda e: e.maybe_sent is False and e.status == 503),
        (
            answer(200, {"header": {"isSuccessful": False, "resultCode": -1027, "resultMessage": "blocked"}}),
            ProviderRejected,
            lambda e: (e.code, e.provider_message) == ("-1027", "blocked"),
        ),
        (
            answer(
                401, {"header": {"isSuccessful": False, "resultCode": -1001, "resultMessage": "Invalid secretKey."}}
            ),
            ProviderRejected,
            lambda e: e.code == "-1001" and e.status == 401,
        ),
        (answer(403, b"<html>forbidden</html>"), ProviderRejected, lambda e: e.code == "http_403"),
        (answer(200, b"<html>oops</html>"), ProviderProtocolError, lambda e: True),
        (
            answer(
                200,
                {"header": {"isSuccessful": True, "resultCode": 0}, "message": {"requestId": "R", "sendResults": []}},
            ),
            ProviderProtocolError,
            lambda e: "0 sendResults for 2" in str(e),
        ),
    ],
    ids=["429", "503", "header-rejection", "401-with-header", "403-no-header", "not-json", "count-mismatch"],
)
def test_answers_that_are_not_per_recipient_raise(response: HttpResponse, error: type, check) -> None:
    """Throttling, outages, whole-request rejections and unreadable answers raise the right error."""
    with pytest.raises(error) as info:
        API.parse_send_response(BATCH, response)
    assert check(info.value)


def test_answer_for_another_recipient_is_refused() -> None:
    """A result whose recipientGroupingKey is not ours at that position is a protocol error."""
    results = [
        {"recipientSeq": 1, "resultCode": 0, "recipientGroupingKey": "k2"},
        {"recipientSeq": 2, "resultCode": 0, "recipientGroupingKey": "k1"},
    ]
    with pytest.raises(ProviderProtocolError):
        API.parse_send_response(BATCH, ok_answer(results))


def test_query_request_and_answer() -> None:
    """Result query by request id, paged; final and pending messages are told apart."""
    req = API.query_request("REQ1", page=2, page_size=1000)
    assert req.path == "/alimtalk/v2.3/appkeys/APPKEY/messages"
    assert req.params == {"requestId": "REQ1", "pageNum": "2", "pageSize": "1000"}
    reports, total = API.parse_query_response(
        answer(
            200,
            {
                "header": {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"},
                "messageSearchResultResponse": {
                    "totalCount": 3,
                    "messages": [
                        {
                            "requestId": "REQ1",
                            "recipientSeq": 1,
                            "messageStatus": "COMPLETED",
                            "resultCode": "1000",
                            "receiveDate": "2024-05-01 10:00:00",
                        },
                        {
                            "requestId": "REQ1",
                            "recipientSeq": 2,
                            "messageStatus": "FAILED",
                            "resultCode": "3019",
                            "resultCodeName": "not a user",
                            "resendStatus": "RSC02",
                        },
                        {"requestId": "REQ1", "recipientSeq": 3, "messageStatus": "READY", "resultCode": None},
                    ],
                },
            },
        )
    )
    assert total == 3
    assert [(r.carrier_id, r.final, r.code) for r in reports] == [
        ("REQ1:1", True, "1000"),
        ("REQ1:2", True, "3019"),
        ("REQ1:3", False, None),
    ]
    assert reports[0].done_at.isoformat() == "2024-05-01T10:00:00+09:00"
    assert reports[1].message == "not a user" and reports[1].resend_status == "RSC02"


def test_webhook_body() -> None:
    """MESSAGE_RESULT_UPDATE hooks become reports; other events none; garbage raises."""
    body = {
        "event": "MESSAGE_RESULT_UPDATE",
        "hooks": [{"requestId": "R", "recipientSeq": "4", "messageStatus": "COMPLETED", "resultCode": "1000"}],
    }
    [report] = API.parse_webhook(json.dumps(body).encode())
    assert (report.carrier_id, report.final, report.code) == ("R:4", True, "1000")
    assert API.parse_webhook(json.dumps({"event": "TEMPLATE_STATUS_UPDATE", "hooks": [{}]}).encode()) == []
    for bad in (b"[", b"[]", b'{"hooks": [1]}', b'{"hooks": [{"requestId": "R", "recipientSeq": true}]}'):
        with pytest.raises(ProviderProtocolError):
            API.parse_webhook(bad)
