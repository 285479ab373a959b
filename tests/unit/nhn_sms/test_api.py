"""The NHN SMS codec against the documented examples (tests/contract/nhn_sms/)."""

from __future__ import annotations

import json

import pytest

import gateway.nhn_sms as nhn_sms
from gateway.httpclient import HttpResponse, ProviderProtocolError, ProviderRejected, ProviderUnavailable
from gateway.nhn_sms import NhnSmsApi, SendRecipient, SendRequest
from tests.support.nhn_sms import fixture

API = NhnSmsApi("{appKey}", "{secret-key}")


def answer(data: object, status: int = 200) -> HttpResponse:
    return HttpResponse(status, {}, json.dumps(data, ensure_ascii=False).encode())


def test_public_names_are_pinned() -> None:
    """gateway.nhn_sms exports exactly these names."""
    assert sorted(nhn_sms.__all__) == sorted(
        [
            "API_CODES",
            "DELIVERY_CODES",
            "AttachmentStore",
            "CodeClass",
            "CodeInfo",
            "InMemoryAttachmentStore",
            "NhnRecord",
            "NhnSmsAdapter",
            "NhnSmsApi",
            "NhnSmsConnector",
            "NhnSmsConnectorConfig",
            "PostgresAttachmentStore",
            "SendRecipient",
            "SendRequest",
            "classify_api",
            "classify_delivery",
            "receipt_for",
        ]
    )


@pytest.mark.parametrize(
    ("name", "endpoint"),
    [
        ("sms_send.example_domestic.json", "sms"),
        ("mms_send.example_lms.json", "mms"),
        ("mms_send.example_attachment.json", "mms"),
    ],
)
def test_send_requests_are_the_documented_ones(name: str, endpoint: str) -> None:
    """The request built for the example's inputs is the example's body, but for statsId (which we never send)."""
    fx = fixture(name)
    doc = fx["request"]
    request = SendRequest(
        endpoint=endpoint,
        send_no=doc["sendNo"],
        body=doc["body"],
        title=doc.get("title"),
        attach_file_ids=tuple(doc.get("attachFileIdList", ())),
        sender_grouping_key=doc["senderGroupingKey"],
        recipients=tuple(SendRecipient(r["recipientGroupingKey"], r["recipientNo"]) for r in doc["recipientList"]),
    )
    http = API.send_request(request)
    assert http.method == fx["method"] and http.path == fx["path"].replace("{appKey}", "{appKey}")
    assert dict(http.headers) == fx["headers"]
    expected = {k: v for k, v in doc.items() if k != "statsId"}
    assert json.loads(http.body or b"") == expected


def test_every_documented_send_answer_parses() -> None:
    """The send answers of the SMS, MMS, auth and international examples give one accepted result per recipient."""
    for name in (
        "sms_send.schema.json",
        "sms_send.example_domestic.json",
        "sms_send.example_international.json",
        "mms_send.schema.json",
        "mms_send.example_lms.json",
        "mms_send.example_attachment.json",
        "auth_sms_send.example.json",
    ):
        fx = fixture(name)
        request = SendRequest("sms", "1", "b", (), "k")
        parsed = API.parse_send(request, answer(fx["response"]))
        assert parsed.request_id == "20180810100630ReZQ6KZzAH0" and parsed.status_code == "2"
        assert [a.code for a in parsed.recipients] == ["0"] * len(fx["response"]["body"]["data"]["sendResultList"])
        assert all(a.grouping_key and a.recipient_seq for a in parsed.recipients)


def test_send_failures() -> None:
    """A header refusal raises ProviderRejected with NHN's code; 5xx may have been taken; non-JSON is unreadable."""
    refused = {"header": {"isSuccessful": False, "resultCode": -2312, "resultMessage": "Unregistered"}, "body": None}
    with pytest.raises(ProviderRejected) as exc:
        API.parse_send(SendRequest("sms", "1", "b", (), "k"), answer(refused))
    assert exc.value.code == "-2312"
    with pytest.raises(ProviderUnavailable) as down:
        API.parse_send(SendRequest("sms", "1", "b", (), "k"), HttpResponse(502, {}, b"bad gateway"))
    assert down.value.maybe_sent is True
    with pytest.raises(ProviderProtocolError):
        API.parse_send(SendRequest("sms", "1", "b", (), "k"), HttpResponse(200, {}, b"<html>"))


@pytest.mark.parametrize("name", ["sms_list.json", "mms_list.json", "message_results.json"])
def test_list_answers_parse(name: str) -> None:
    """List queries and message-results give records with requestId, recipientSeq and both grouping keys."""
    records, total = API.parse_records(answer(fixture(name)["response"]), name)
    assert total == fixture(name)["response"]["body"]["totalCount"]
    assert records and all(r.request_id and r.recipient_seq == 1 and r.grouping_key for r in records)
    assert records[0].result_code == "1000"


def test_message_results_in_the_field_tables_shape_parse() -> None:
    """message-results as its field table describes it (body.data.resultUpdateList[]) parses too."""
    doc = fixture("message_results.json")["response"]
    table = {**doc, "body": {**doc["body"], "data": {"resultUpdateList": doc["body"]["data"]}}}
    records, _ = API.parse_records(answer(table), "results")
    assert [r.request_id for r in records] == ["20230914101505oAJTbxHkIB0"]


def test_single_lookups_parse_including_mtpr() -> None:
    """sms_get (recipientSeq, dlr) and the 2023 mms_get capture (mtPr instead of recipientSeq) both parse."""
    from gateway.nhn_sms.api import _record

    sms = _record(fixture("sms_get.json")["response"]["body"]["data"], "get")
    mms = _record(fixture("mms_get.json")["response"]["body"]["data"], "get")
    assert (sms.recipient_seq, sms.message_type, sms.result_code) == (1, "SMS", "1000")
    assert (mms.recipient_seq, mms.grouping_key) == (1, "recipientGroupingKey")


def test_sender_and_optout_numbers() -> None:
    """sendNos and unsubscribe-nos give the usable numbers (digits only)."""
    numbers, total = API.parse_sendnos(answer(fixture("sendnos_list.json")["response"]))
    assert numbers == {"01012341234": True, "12341234": True} and total == 2
    optouts, _ = API.parse_unsubscribe_nos(answer(fixture("unsubscribe_nos_list.json")["response"]))
    assert optouts == {"0808888888": False}  # the example's status is the list of values, not USED


def test_the_documented_webhook_parses_with_its_typo() -> None:
    """The MESSAGE_RESULT_UPDATE example (recipientGropuingKey, _link) in NHN's envelope gives the grouping key."""
    envelope = fixture("hook_envelope.json")["hook"]
    body = {
        **envelope,
        "event": "MESSAGE_RESULT_UPDATE",
        "hooks": fixture("hook_message_result_update.json")["hook"]["hooks"],
    }
    hook = NhnSmsApi.parse_webhook(json.dumps(body, ensure_ascii=False).encode())
    assert hook.event == "MESSAGE_RESULT_UPDATE"
    (record,) = hook.results
    assert record.grouping_key == "RecipientGroupingKey" and record.result_code == "1000"
    assert (
        record.message_status == "COMPLETED"
        and record.done_at is not None
        and record.done_at.utcoffset().total_seconds() == 9 * 3600
    )  # type: ignore[union-attr]
    unsub = {**envelope, "hooks": fixture("hook_unsubscribe.json")["hook"]["hooks"]}
    assert NhnSmsApi.parse_webhook(json.dumps(unsub).encode()).unsubscribes[0].unsubscribe_no == "08012341234"
    with pytest.raises(ProviderProtocolError):
        NhnSmsApi.parse_webhook(b'{"hooks": 3}')


def test_upload_answer() -> None:
    """The upload example's answer gives fileId 0; the request is Base64 JSON."""
    fx = fixture("attachfile_upload.example.json")
    assert API.parse_upload(answer(fx["response"])) == 0
    http = API.upload_request("attachement.jpg", b"\xff\xd8\xff", "CreateUser")
    assert json.loads(http.body or b"") == {
        "fileName": "attachement.jpg",
        "createUser": "CreateUser",
        "fileBody": "/9j/",
    }
    assert http.path == fx["path"]
