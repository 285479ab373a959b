"""NHN Cloud SMS API v3.0: requests, answers, webhook bodies (sans-I/O).

:class:`NhnSmsApi` builds :class:`~gateway.httpclient.HttpRequest` objects and
reads :class:`~gateway.httpclient.HttpResponse` objects, nothing else; the
adapter (:mod:`gateway.nhn_sms.adapter`) puts it on a transport. Shapes follow
``tests/contract/nhn_sms/`` (transcribed from TOAST-DOCS/SMS ``ko/api-guide.md``
and ``ko/webhook.md``); section names below are the Korean headings.

* sends: ``POST sender/{sms|mms|ad-sms|ad-mms}`` with ``X-Secret-Key``; body
  ``body``, ``title`` (mms), ``sendNo``, ``attachFileIdList`` (mms),
  ``senderGroupingKey``, ``recipientList[{recipientNo | internationalRecipientNo,
  recipientGroupingKey}]``; answer ``header{isSuccessful, resultCode,
  resultMessage}`` and ``body.data{requestId, statusCode, senderGroupingKey,
  sendResultList[{recipientNo, resultCode, resultMessage, recipientSeq,
  recipientGroupingKey}]}`` (§ 단문 SMS 발송, § 장문 MMS 발송);
* ``POST attachfile/binaryUpload`` ``{fileName, createUser, fileBody (Base64)}``
  → ``body.data.fileId`` (§ 첨부 파일 업로드);
* ``GET sender/{sms|mms}?startCreateDate&endCreateDate&senderGroupingKey|recipientGroupingKey&pageNum&pageSize``
  → ``body{pageNum, pageSize, totalCount, data[]}`` (§ 발송 목록 검색);
* ``GET message-results?startUpdateDate&endUpdateDate&pageNum&pageSize``:
  the example answers ``body.data[]``, the field table ``body.data.resultUpdateList[]``;
  both are read (§ 결과 업데이트 기준 메시지 검색);
* ``GET sendNos`` and ``GET blockservice/unsubscribe-nos`` (§ 발신 번호, § 080 수신 거부 서비스);
* the webhook envelope ``{hooksId, webhookConfigId, productName, appKey, event,
  hooks[]}``; ``MESSAGE_RESULT_UPDATE`` hooks carry ``recipientGroupingKey``
  (the example spells it ``recipientGropuingKey``: both are read).

Matching is by ``recipientGroupingKey``, never by number or position: the
documented examples answer other numbers than were sent. Dates without an
offset are Korea Standard Time. The HTTP status of NHN's answers is not
documented: 5xx is "unavailable", 429 "throttled", anything else is read as JSON.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from gateway.httpclient import (
    HttpRequest,
    HttpResponse,
    ProviderProtocolError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
)

__all__ = [
    "KST",
    "NhnRecord",
    "NhnSmsApi",
    "RecipientAnswer",
    "SendAnswer",
    "SendRecipient",
    "SendRequest",
    "Unsubscribe",
    "WebhookBody",
    "digits",
    "kst_text",
    "national",
    "parse_date",
    "recipient_fields",
]

KST = timezone(timedelta(hours=9))
ENDPOINTS = frozenset({"sms", "mms", "ad-sms", "ad-mms"})


def kst_text(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in KST, the form of every query parameter."""
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")


def parse_date(value: Any) -> datetime | None:
    """A date as NHN writes it (``2018-08-10 10:06:30.0``, ``2024-04-29T20:58:04``, with or without an offset)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("T", " ")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=KST)


@dataclass(frozen=True, slots=True)
class SendRecipient:
    grouping_key: str  # recipientGroupingKey: our carrier id for the message
    recipient_no: str | None = None  # domestic: 010...
    international_no: str | None = None  # with the country code, digits only


@dataclass(frozen=True, slots=True)
class SendRequest:
    endpoint: str  # sms | mms | ad-sms | ad-mms
    send_no: str
    body: str
    recipients: tuple[SendRecipient, ...]
    sender_grouping_key: str
    title: str | None = None
    attach_file_ids: tuple[int, ...] = ()

    @property
    def family(self) -> str:
        """The list API the sends show up in: ``sms`` or ``mms``."""
        return "mms" if self.endpoint.endswith("mms") else "sms"


@dataclass(frozen=True, slots=True)
class RecipientAnswer:
    grouping_key: str | None
    code: str  # "" when NHN left it null
    message: str
    recipient_seq: int | None


@dataclass(frozen=True, slots=True)
class SendAnswer:
    request_id: str | None
    status_code: str | None  # "1" 요청 중, "2" 요청 완료, "3" 요청 실패
    code: str
    message: str
    recipients: tuple[RecipientAnswer, ...]


@dataclass(frozen=True, slots=True)
class NhnRecord:
    """One message as a query, message-results or the result webhook shows it."""

    request_id: str
    recipient_seq: int | None
    grouping_key: str | None
    sender_grouping_key: str | None = None
    result_code: str | None = None
    msg_status: str | None = None  # queries: "0".."7"
    message_status: str | None = None  # webhook: COMPLETED, FAILED, ...
    message_type: str | None = None  # SMS | LMS | MMS | AUTH
    done_at: datetime | None = None
    message_count: int | None = None
    telecom: str | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    recipient_no: str
    unsubscribe_no: str


@dataclass(frozen=True, slots=True)
class WebhookBody:
    event: str
    results: tuple[NhnRecord, ...] = ()
    unsubscribes: tuple[Unsubscribe, ...] = ()


def _json(response: HttpResponse, what: str) -> Any:
    if response.status == 429:
        raise ProviderThrottled(f"{what}: HTTP 429", retry_after=_retry_after(response.headers.get("retry-after")))
    if response.status >= 500:
        raise ProviderUnavailable(f"{what}: HTTP {response.status}", maybe_sent=True, status=response.status)
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderProtocolError(f"{what}: HTTP {response.status} answer is not JSON") from exc


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float((value or "").strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _header(data: Any, what: str) -> tuple[bool, str, str]:
    header = data.get("header") if isinstance(data, dict) else None
    if not isinstance(header, dict):
        raise ProviderProtocolError(f"{what}: the answer has no header")
    code = header.get("resultCode")
    return header.get("isSuccessful") is True, "" if code is None else str(code), str(header.get("resultMessage") or "")


def _checked(response: HttpResponse, what: str) -> Any:
    """The JSON of a successful answer; a header that says otherwise raises ProviderRejected."""
    data = _json(response, what)
    ok, code, message = _header(data, what)
    if not ok:
        raise ProviderRejected(
            f"{what}: {code} {message}".strip(), code=code, provider_message=message, status=response.status
        )
    return data


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _record(item: Any, what: str) -> NhnRecord:
    if not isinstance(item, dict):
        raise ProviderProtocolError(f"{what}: a result is not an object")
    request_id = item.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        raise ProviderProtocolError(f"{what}: a result has no requestId")
    seq = _int(item.get("recipientSeq"))
    if seq is None:
        seq = _int(item.get("mtPr"))  # the 2023 MMS single-query example still has mtPr
    code = item.get("resultCode")
    return NhnRecord(
        request_id=request_id,
        recipient_seq=seq,
        grouping_key=_text(item.get("recipientGroupingKey")) or _text(item.get("recipientGropuingKey")),
        sender_grouping_key=_text(item.get("senderGroupingKey")),
        result_code=None if code in (None, "") else str(code),
        msg_status=None if item.get("msgStatus") in (None, "") else str(item.get("msgStatus")),
        message_status=_text(item.get("messageStatus")),
        message_type=_text(item.get("messageType")),
        done_at=parse_date(item.get("resultDate") or item.get("receiveDate")),
        message_count=_int(item.get("messageCount")),
        telecom=_text(item.get("telecomCodeName")),
    )


def _page(data: Any, what: str) -> tuple[list[Any], int]:
    body = data.get("body") if isinstance(data, dict) else None
    if not isinstance(body, dict):
        raise ProviderProtocolError(f"{what}: the answer has no body")
    items = body.get("data")
    if isinstance(items, dict):  # message-results as its field table describes it
        items = items.get("resultUpdateList")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ProviderProtocolError(f"{what}: body.data is not a list")
    total = _int(body.get("totalCount"))
    return items, total if total is not None else len(items)


class NhnSmsApi:
    """Sans-I/O codec of the NHN Cloud SMS v3.0 API for one app key."""

    def __init__(self, app_key: str, secret_key: str) -> None:
        self.app_key = app_key
        self._secret_key = secret_key
        self.base = f"/sms/v3.0/appKeys/{app_key}"

    def headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json;charset=UTF-8", "X-Secret-Key": self._secret_key}

    def _post(self, path: str, body: Mapping[str, Any]) -> HttpRequest:
        encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return HttpRequest("POST", f"{self.base}/{path}", self.headers(), {}, encoded)

    def _get(self, path: str, params: Mapping[str, str]) -> HttpRequest:
        return HttpRequest("GET", f"{self.base}/{path}", self.headers(), dict(params), None)

    # ---------------------------------------------------------------- send
    @staticmethod
    def send_body(request: SendRequest) -> dict[str, Any]:
        if request.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown NHN SMS endpoint {request.endpoint!r}")
        recipients = []
        for r in request.recipients:
            item: dict[str, Any] = (
                {"recipientNo": r.recipient_no} if r.recipient_no else {"internationalRecipientNo": r.international_no}
            )
            item["recipientGroupingKey"] = r.grouping_key
            recipients.append(item)
        body: dict[str, Any] = {}
        if request.family == "mms":
            body["title"] = request.title or ""
        body["body"] = request.body
        body["sendNo"] = request.send_no
        if request.attach_file_ids:
            body["attachFileIdList"] = list(request.attach_file_ids)
        body["senderGroupingKey"] = request.sender_grouping_key
        body["recipientList"] = recipients
        return body

    def send_request(self, request: SendRequest) -> HttpRequest:
        return self._post(f"sender/{request.endpoint}", self.send_body(request))

    def parse_send(self, request: SendRequest, response: HttpResponse) -> SendAnswer:
        """The answer per recipient. A header refusal with no per-recipient results raises ProviderRejected."""
        what = f"nhn send {request.endpoint}"
        data = _json(response, what)
        ok, code, message = _header(data, what)
        raw_body = data.get("body")
        body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
        raw_payload = body.get("data")
        payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
        results = payload.get("sendResultList")
        if not ok and not results:
            raise ProviderRejected(
                f"{what}: {code} {message}".strip(), code=code, provider_message=message, status=response.status
            )
        if not isinstance(results, list):
            raise ProviderProtocolError(f"{what}: the answer has no sendResultList")
        answers = []
        for index, item in enumerate(results):
            if not isinstance(item, dict):
                raise ProviderProtocolError(f"{what}: sendResultList[{index}] is not an object")
            r_code = item.get("resultCode")
            answers.append(
                RecipientAnswer(
                    grouping_key=_text(item.get("recipientGroupingKey")),
                    code="" if r_code is None else str(r_code),
                    message=str(item.get("resultMessage") or ""),
                    recipient_seq=_int(item.get("recipientSeq")),
                )
            )
        status = payload.get("statusCode")
        request_id = payload.get("requestId")
        return SendAnswer(
            request_id if isinstance(request_id, str) and request_id else None,
            None if status is None else str(status),
            code,
            message,
            tuple(answers),
        )

    # ---------------------------------------------------------------- pictures
    def upload_request(self, file_name: str, data: bytes, create_user: str) -> HttpRequest:
        body = {"fileName": file_name, "createUser": create_user, "fileBody": base64.b64encode(data).decode("ascii")}
        return self._post("attachfile/binaryUpload", body)

    def parse_upload(self, response: HttpResponse) -> int:
        what = "nhn attachfile upload"
        data = _checked(response, what)
        payload = (data.get("body") or {}).get("data") if isinstance(data.get("body"), dict) else None
        file_id = _int(payload.get("fileId")) if isinstance(payload, dict) else None
        if file_id is None:
            raise ProviderProtocolError(f"{what}: the answer has no body.data.fileId")
        return file_id

    # ---------------------------------------------------------------- queries
    def list_request(
        self,
        family: str,
        *,
        start: datetime,
        end: datetime,
        sender_grouping_key: str | None = None,
        recipient_grouping_key: str | None = None,
        page: int = 1,
        page_size: int = 1000,
    ) -> HttpRequest:
        params = {"startCreateDate": kst_text(start), "endCreateDate": kst_text(end)}
        if sender_grouping_key:
            params["senderGroupingKey"] = sender_grouping_key
        if recipient_grouping_key:
            params["recipientGroupingKey"] = recipient_grouping_key
        params.update(pageNum=str(page), pageSize=str(page_size))
        return self._get(f"sender/{family}", params)

    def results_request(self, start: datetime, end: datetime, *, page: int = 1, page_size: int = 1000) -> HttpRequest:
        params = {
            "startUpdateDate": kst_text(start),
            "endUpdateDate": kst_text(end),
            "pageNum": str(page),
            "pageSize": str(page_size),
        }
        return self._get("message-results", params)

    def parse_records(self, response: HttpResponse, what: str) -> tuple[list[NhnRecord], int]:
        """One page of a list query or of message-results, and the total count."""
        items, total = _page(_checked(response, what), what)
        return [_record(item, what) for item in items], total

    def sendnos_request(self, *, page: int = 1, page_size: int = 1000) -> HttpRequest:
        return self._get("sendNos", {"pageNum": str(page), "pageSize": str(page_size)})

    def parse_sendnos(self, response: HttpResponse) -> tuple[dict[str, bool], int]:
        """``{sendNo (digits): usable}`` (``useYn = Y`` and ``blockYn = N``) of one page, and the total."""
        items, total = _page(_checked(response, "nhn sendNos"), "nhn sendNos")
        found = {}
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("sendNo"), str):
                usable = item.get("useYn") == "Y" and item.get("blockYn") != "Y"
                found[digits(item["sendNo"])] = usable
        return found, total

    def unsubscribe_nos_request(self, *, page: int = 1, page_size: int = 1000) -> HttpRequest:
        return self._get("blockservice/unsubscribe-nos", {"pageNum": str(page), "pageSize": str(page_size)})

    def parse_unsubscribe_nos(self, response: HttpResponse) -> tuple[dict[str, bool], int]:
        """``{080 number (digits): in use}`` (status ``USED``) of one page, and the total."""
        what = "nhn unsubscribe-nos"
        items, total = _page(_checked(response, what), what)
        found = {}
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("unsubscribeNo"), str):
                found[digits(item["unsubscribeNo"])] = item.get("status") == "USED"
        return found, total

    # ---------------------------------------------------------------- webhook
    @staticmethod
    def parse_webhook(body: bytes) -> WebhookBody:
        what = "nhn sms webhook"
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProviderProtocolError(f"{what}: the body is not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("hooks"), list):
            raise ProviderProtocolError(f"{what}: expected an object with a 'hooks' list")
        event = str(data.get("event") or "")
        hooks = data["hooks"]
        if event == "MESSAGE_RESULT_UPDATE":
            return WebhookBody(event, results=tuple(_record(h, what) for h in hooks))
        if event == "UNSUBSCRIBE":
            found = []
            for h in hooks:
                if isinstance(h, dict) and isinstance(h.get("recipientNo"), str):
                    found.append(Unsubscribe(h["recipientNo"], str(h.get("unsubscribeNo") or "")))
            return WebhookBody(event, unsubscribes=tuple(found))
        return WebhookBody(event)


def digits(number: str) -> str:
    """A number as NHN compares it: digits only."""
    return "".join(ch for ch in number if ch.isdigit())


def national(number: str) -> str:
    """A Korean number as NHN wants it, digits only: ``+82 10-...`` → ``010...``, ``+82 1544-...`` → ``1544...``
    (representative numbers 15YY/16YY/18YY have no leading 0); other numbers keep their digits."""
    if not number.startswith("+82"):
        return digits(number)
    rest = digits(number)[2:]
    if len(rest) == 8 and rest[:2] in ("15", "16", "18"):
        return rest
    return "0" + rest


def recipient_fields(recipient: str) -> tuple[str | None, str | None]:
    """``(recipientNo, internationalRecipientNo)``: ``+8210...`` → ``010...``; other ``+`` numbers keep
    their country code."""
    if recipient.startswith("+82"):
        return national(recipient), None
    if recipient.startswith("+"):
        return None, digits(recipient)
    return digits(recipient), None
