"""Contract: our requests use only what NHN documents, and our parsers read only fields NHN sends.

Every case is built from a fixture transcribed from NHN's documents
(``tests/contract/nhn_alimtalk/``; each names its document in ``_source``): the
documented shapes are given a value of each type, parsed by the real codec, and
every key the codec read is checked against the keys the document shows. A
parser that needed a field NHN does not send would read a key outside that set
and fail here.
"""

from __future__ import annotations

import json
import types
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from gateway.httpclient import HttpResponse
from gateway.kakao import nhn
from gateway.kakao.nhn import NhnAlimtalkApi
from gateway.kakao.provider import RecipientRequest, Resend, SendBatch
from gateway.kakao.template_store import template_from_nhn
from tests.support.kakao import concrete, fixture, keys_of

API = NhnAlimtalkApi("akb3dukdmdjsdSvgk", "secret")


class Recording(dict):  # type: ignore[type-arg]
    """A JSON object that remembers which keys were read (a presence test is not a read)."""

    read: ClassVar[set[str]] = set()

    def __getitem__(self, key: Any) -> Any:
        Recording.read.add(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        Recording.read.add(key)
        return super().get(key, default)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Make the codec's json.loads build Recording objects; yield the set of keys read."""
    shim = types.SimpleNamespace(loads=lambda raw: json.loads(raw, object_hook=Recording), dumps=json.dumps)
    monkeypatch.setattr(nhn, "json", shim)
    Recording.read = set()
    return Recording.read


def response(body: Any) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(body, ensure_ascii=False).encode())


def batch(n: int = 2) -> SendBatch:
    recipients = tuple(RecipientRequest(i, "01012345678", "본문", grouping_key=f"gw-{i}") for i in range(1, n + 1))
    return SendBatch("senderKey", "template", recipients, "gw-key")


SEND_ANSWERS = [
    "send-raw-messages.shape.json",
    "derived/send-response.partial-failure.json",
    "derived/send-response.all-recipients-failed.json",
    "derived/send-response.header-failure-9999.json",
    "derived/send-response.idempotency-repeat-1005.json",
    "derived/send-response.invalid-secret-key-1001.json",
]


def test_every_fixture_names_its_document() -> None:
    """Each transcribed fixture says which NHN document (repository, commit, path, section) it comes from."""
    for name in (*SEND_ANSWERS, "list-messages.shape.json", "message-results.shape.json", "get-message.shape.json",
                 "template-list.shape.json", "template-get.shape.json", "webhook-template-status.hooks.json",
                 "derived/webhook-message-result-update.envelope.json"):  # fmt: skip
        source = fixture(name)["_source"]
        assert source["repo"] == "TOAST-DOCS/Alimtalk" and source["path"].startswith("ko/") and source["section"]


@pytest.mark.parametrize("name", SEND_ANSWERS)
def test_send_answers_read_only_documented_fields(recording: set[str], name: str) -> None:
    """Every documented or derived send answer parses, reading only the response shape's keys."""
    documented = keys_of(fixture("send-raw-messages.shape.json")["response"])
    body = concrete(fixture(name)["response"], {"requestId": "20210928152356O9CEcsKV2M2"})
    for index, result in enumerate(((body.get("message") or {}).get("sendResults")) or [], start=1):
        result["recipientSeq"] = index
    try:
        API.parse_send_response(batch(), response(body))
    except nhn.ProviderRejected:
        pass  # a header-only failure: rejected as a whole, as it should be
    assert recording and recording <= documented, recording - documented


def test_send_request_uses_only_documented_fields() -> None:
    """The raw send we build: every key, at any depth, is in NHN's request shape; headers too."""
    shape = fixture("send-raw-messages.shape.json")
    rich = RecipientRequest(
        1,
        "01012345678",
        "본문",
        buttons=({"type": "WL", "name": "열기", "linkMo": "https://x", "ours": "dropped"},),
        resend=Resend("LMS", "대체", "15880000", "제목"),
        grouping_key="gw-1",
        title="t",
        header="h",
        item={"list": [{"title": "a", "description": "b"}], "summary": {"title": "s", "description": "1"}},
        highlight={"title": "t", "description": "d", "imageUrl": "https://x/i.png"},
        represent_link={"linkMo": "https://x", "linkPc": "https://x", "schemeIos": "a://", "schemeAndroid": "b://"},
        quick_replies=({"type": "BK", "name": "문의"},),
    )
    for b in (SendBatch("senderKey", "template", (rich,), "gw-key"), batch()):
        request = API.send_request(b)
        assert keys_of(json.loads(request.body)) <= keys_of(shape["request"])
        assert set(request.headers) <= set(shape["headers"])


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("list-messages.shape.json", lambda s, u: API.list_request("gw-key", s, u, auth=False)),
        ("message-results.shape.json", lambda s, u: API.results_request(s, u, auth=False)),
        ("template-list.shape.json", lambda s, u: API.templates_request("senderKey")),
    ],
)
def test_queries_use_only_documented_parameters(name: str, build: Any) -> None:
    """Our query parameters and headers are the document's; dates are yyyy-MM-dd HH:mm."""
    doc = fixture(name)
    request = build(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
    assert set(request.params) <= {row["이름"] for row in doc["query_parameters"]}
    assert set(request.headers) <= set(doc["headers"])
    for key, value in request.params.items():
        if key.endswith("Date"):
            assert len(value) == 16 and value[10] == " "


@pytest.mark.parametrize(
    ("name", "parse"),
    [
        ("list-messages.shape.json", API.parse_list_response),
        ("message-results.shape.json", API.parse_results_response),
        ("get-message.shape.json", API.parse_one_response),
        ("template-list.shape.json", API.parse_templates_response),
        ("template-get.shape.json", API.parse_template_response),
    ],
)
def test_query_answers_read_only_documented_fields(recording: set[str], name: str, parse: Any) -> None:
    """Each documented query answer parses and the parser reads only keys of its shape."""
    documented = keys_of(fixture(name)["response"])
    parsed = parse(response(concrete(fixture(name)["response"])))
    assert parsed is not None
    assert recording and recording <= documented, recording - documented


@pytest.mark.parametrize("name", ["template-list.shape.json", "template-get.shape.json"])
def test_templates_from_nhn_read_only_documented_fields(name: str) -> None:
    """Turning NHN's template into ours reads only the template shape's keys."""
    shape = fixture(name)["response"]
    item = concrete(shape["templateListResponse"]["templates"][0] if "templateListResponse" in shape
                    else shape["templates"])  # fmt: skip
    Recording.read = set()
    record = json.loads(json.dumps(item), object_hook=Recording)
    template = template_from_nhn(record, "senderKey", details=record if "block" in item else None)
    assert template.template_code == "s"
    assert Recording.read <= keys_of(shape), Recording.read - keys_of(shape)


def test_the_result_hook_reads_only_documented_fields(recording: set[str]) -> None:
    """The documented MESSAGE_RESULT_UPDATE envelope parses into a final report, reading only its keys."""
    envelope = fixture("derived/webhook-message-result-update.envelope.json")["hook"]
    body = concrete(envelope, {"appKey": "akb3dukdmdjsdSvgk", "kakaoMessageType": "ALIMTALK_NORMAL",
                               "resultCode": "3019", "requestId": "20210928152356O9CEcsKV2M2"})  # fmt: skip
    hooks = API.parse_webhook(json.dumps(body).encode())
    [report] = hooks.reports
    assert report.final and report.code == "3019" and report.carrier_id == "20210928152356O9CEcsKV2M2:1"
    assert report.done_at is not None and report.done_at.date().isoformat() == "2023-06-01"
    assert recording <= keys_of(envelope), recording - keys_of(envelope)
    assert "messageStatus" not in recording


def test_the_result_hook_needs_nothing_but_its_ids() -> None:
    """Without any one optional field of the documented hook the report still comes (no field is assumed)."""
    envelope = fixture("derived/webhook-message-result-update.envelope.json")["hook"]
    full = concrete(envelope, {"appKey": "akb3dukdmdjsdSvgk", "kakaoMessageType": "ALIMTALK_AUTH",
                               "resultCode": "1000"})  # fmt: skip
    for key in full["hooks"][0]:
        if key in ("requestId", "recipientSeq"):
            continue
        body = json.loads(json.dumps(full))
        del body["hooks"][0][key]
        [report] = API.parse_webhook(json.dumps(body).encode()).reports
        assert report.carrier_id == "s:1"


def test_the_template_hook_reads_only_documented_fields(recording: set[str]) -> None:
    """The documented template status hook parses into a status update, reading only its keys."""
    shape = fixture("webhook-template-status.hooks.json")["hook"]
    body = {"hooksId": "h", "webhookConfigId": "w", "productName": "KakaoTalk Bizmessage",
            "appKey": "akb3dukdmdjsdSvgk", "event": "String",
            **concrete(shape, {"status": "TSC03"})}  # fmt: skip
    [update] = API.parse_webhook(json.dumps(body).encode()).templates
    assert update.status == "TSC03" and update.updated_at is not None
    envelope = keys_of(fixture("webhook-envelope.curl-example.json")["hook"])
    assert recording <= keys_of(shape) | envelope, recording - keys_of(shape) - envelope
