"""NHN Cloud KakaoTalk Bizmessage, Alimtalk API v2.3: requests, answers, webhook bodies.

:class:`NhnAlimtalkApi` is sans-I/O: it builds :class:`HttpRequest` objects and
reads :class:`HttpResponse` objects, nothing else. :class:`NhnAlimtalkAdapter`
puts it on a transport. What is used of the API:

* ``POST /alimtalk/v2.3/appkeys/{appkey}/raw-messages`` (raw-message form: the
  body is sent already rendered) with ``X-Secret-Key``; body ``senderKey``,
  ``templateCode``, ``recipientList[{recipientNo, content, buttons,
  resendParameter{isResend, resendType, resendTitle, resendContent,
  resendSendNo}, recipientGroupingKey}]`` (at most 1,000 recipients); answer
  ``header{isSuccessful, resultCode, resultMessage}``, ``message{requestId,
  sendResults[{recipientSeq, recipientNo, resultCode, resultMessage,
  recipientGroupingKey}]}``.
* ``GET /alimtalk/v2.3/appkeys/{appkey}/messages?requestId=..&pageNum=..&pageSize=..``
  answer ``messageSearchResultResponse{messages[{requestId, recipientSeq,
  messageStatus, resultCode, resultCodeName, receiveDate, resendStatus,
  recipientGroupingKey}], totalCount}``. ``messageStatus`` COMPLETED / FAILED /
  CANCEL is final; anything else is still pending.
* Webhook (NHN's envelope): ``{hooksId, webhookConfigId, productName, appKey,
  event, hooks[...]}``; ``MESSAGE_RESULT_UPDATE`` hooks carry the same fields as
  a queried message. Other events are acknowledged and ignored.

Idempotency: every HTTP try of one batch carries the same
``X-NC-API-IDEMPOTENCY-KEY`` (NHN refuses a repeat within 10 minutes with
-1005, which the code table maps to UNKNOWN: an earlier try was taken). Each
recipient's ``recipientGroupingKey`` is the message's idempotency key when it
has one of at most 100 characters, else ``gw-{message id}``, so results can be
traced back upstream in NHN's console too.

Dates without an offset are read as Korea Standard Time (UTC+9).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from gateway.kakao.errors import ProviderProtocolError, ProviderRejected, ProviderThrottled, ProviderUnavailable
from gateway.kakao.provider import (
    BatchAnswer,
    DeliveryReport,
    ProviderAdapter,
    RecipientAnswer,
    SendBatch,
    carrier_id,
)
from gateway.kakao.transport import AiohttpTransport, HttpRequest, HttpResponse, Transport

__all__ = ["FINAL_STATUSES", "NhnAlimtalkAdapter", "NhnAlimtalkApi", "parse_retry_after"]

KST = timezone(timedelta(hours=9))
FINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCEL"})
IDEMPOTENCY_HEADER = "X-NC-API-IDEMPOTENCY-KEY"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form only)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=KST)
    return None


def _json(response: HttpResponse, what: str) -> Any:
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderProtocolError(f"{what}: HTTP {response.status} answer is not JSON") from exc


def _header(data: Any) -> tuple[bool, str, str] | None:
    header = data.get("header") if isinstance(data, dict) else None
    if not isinstance(header, dict):
        return None
    ok = header.get("isSuccessful") is True
    return ok, str(header.get("resultCode", "")), str(header.get("resultMessage", ""))


class NhnAlimtalkApi:
    """Sans-I/O codec of the NHN Alimtalk v2.3 API for one app key."""

    def __init__(self, app_key: str, secret_key: str, *, version: str = "v2.3") -> None:
        self.app_key = app_key
        self._secret_key = secret_key
        self._base = f"/alimtalk/{version}/appkeys/{app_key}"

    def _headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json;charset=UTF-8", "X-Secret-Key": self._secret_key}

    # ---------------------------------------------------------------- send
    def send_request(self, batch: SendBatch) -> HttpRequest:
        recipients = []
        for r in batch.recipients:
            item: dict[str, Any] = {"recipientNo": r.recipient_no, "content": r.content}
            if r.buttons:
                item["buttons"] = [dict(b) for b in r.buttons]
            if r.resend is not None:
                resend: dict[str, Any] = {
                    "isResend": True,
                    "resendType": r.resend.type,
                    "resendContent": r.resend.content,
                    "resendSendNo": r.resend.sender,
                }
                if r.resend.title:
                    resend["resendTitle"] = r.resend.title
                item["resendParameter"] = resend
            if r.grouping_key:
                item["recipientGroupingKey"] = r.grouping_key
            recipients.append(item)
        body = {"senderKey": batch.sender_key, "templateCode": batch.template_code, "recipientList": recipients}
        headers = self._headers()
        headers[IDEMPOTENCY_HEADER] = batch.idempotency_key
        encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return HttpRequest("POST", f"{self._base}/raw-messages", headers, {}, encoded)

    def parse_send_response(self, batch: SendBatch, response: HttpResponse) -> BatchAnswer:
        what = "alimtalk send"
        _raise_for_transient(response, what)
        if response.status >= 400:
            data = _maybe_json(response)
            header = _header(data)
            code, message = (header[1], header[2]) if header else (f"http_{response.status}", "")
            raise ProviderRejected(
                f"{what}: HTTP {response.status} {code} {message}".strip(),
                code=code,
                provider_message=message,
                status=response.status,
            )
        data = _json(response, what)
        header = _header(data)
        if header is None:
            raise ProviderProtocolError(f"{what}: answer has no header")
        ok, code, message = header
        body = data.get("message") if isinstance(data.get("message"), dict) else {}
        results = body.get("sendResults")
        if not ok and not results:
            raise ProviderRejected(
                f"{what}: {code} {message}", code=code, provider_message=message, status=response.status
            )
        if not isinstance(results, list) or len(results) != len(batch.recipients):
            got = len(results) if isinstance(results, list) else "no"
            raise ProviderProtocolError(f"{what}: {got} sendResults for {len(batch.recipients)} recipients")
        request_id = body.get("requestId")
        answers = []
        for index, (sent, result) in enumerate(zip(batch.recipients, results, strict=True)):
            if not isinstance(result, dict):
                raise ProviderProtocolError(f"{what}: sendResults[{index}] is not an object")
            key = result.get("recipientGroupingKey")
            if key is not None and sent.grouping_key is not None and key != sent.grouping_key:
                raise ProviderProtocolError(f"{what}: sendResults[{index}] answers another recipient")
            r_code = str(result.get("resultCode", ""))
            cid = None
            if r_code == "0":
                seq = result.get("recipientSeq")
                if not isinstance(request_id, str) or not request_id or not isinstance(seq, int):
                    raise ProviderProtocolError(f"{what}: accepted recipient {index} has no requestId/recipientSeq")
                cid = carrier_id(request_id, seq)
            answers.append(RecipientAnswer(index, r_code, str(result.get("resultMessage", "")), cid))
        return BatchAnswer(request_id if isinstance(request_id, str) else None, code, message, tuple(answers))

    # ---------------------------------------------------------------- results
    def query_request(self, request_id: str, *, page: int = 1, page_size: int = 1000) -> HttpRequest:
        params = {"requestId": request_id, "pageNum": str(page), "pageSize": str(page_size)}
        return HttpRequest("GET", f"{self._base}/messages", self._headers(), params, None)

    def parse_query_response(self, response: HttpResponse) -> tuple[list[DeliveryReport], int]:
        """The reports of one page and the total count."""
        what = "alimtalk result query"
        _raise_for_transient(response, what)
        data = _json(response, what)
        header = _header(data)
        if header is None:
            raise ProviderProtocolError(f"{what}: answer has no header")
        ok, code, message = header
        if not ok or response.status >= 400:
            raise ProviderRejected(
                f"{what}: {code} {message}", code=code, provider_message=message, status=response.status
            )
        page = data.get("messageSearchResultResponse")
        if not isinstance(page, dict) or not isinstance(page.get("messages"), list):
            raise ProviderProtocolError(f"{what}: no messageSearchResultResponse.messages")
        reports = [self._report(item, what) for item in page["messages"]]
        total = page.get("totalCount")
        return reports, total if isinstance(total, int) else len(reports)

    def parse_webhook(self, body: bytes) -> list[DeliveryReport]:
        what = "alimtalk webhook"
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProviderProtocolError(f"{what}: body is not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("hooks"), list):
            raise ProviderProtocolError(f"{what}: expected an object with a 'hooks' list")
        if data.get("event", "MESSAGE_RESULT_UPDATE") != "MESSAGE_RESULT_UPDATE":
            return []
        return [self._report(hook, what) for hook in data["hooks"]]

    @staticmethod
    def _report(item: Any, what: str) -> DeliveryReport:
        if not isinstance(item, dict):
            raise ProviderProtocolError(f"{what}: a result is not an object")
        request_id, seq = item.get("requestId"), item.get("recipientSeq")
        if isinstance(seq, str) and seq.isdigit():
            seq = int(seq)
        if not isinstance(request_id, str) or not request_id or not isinstance(seq, int) or isinstance(seq, bool):
            raise ProviderProtocolError(f"{what}: a result lacks requestId/recipientSeq")
        status = str(item.get("messageStatus") or "")
        raw_code = item.get("resultCode")
        code = str(raw_code) if raw_code not in (None, "") else None
        final = status in FINAL_STATUSES
        if final and code is None:
            code = "1000" if status == "COMPLETED" else status
        message = item.get("resultMessage") or item.get("resultCodeName") or ""
        return DeliveryReport(
            carrier_id=carrier_id(request_id, seq),
            request_id=request_id,
            recipient_seq=seq,
            code=code if final else None,
            message=str(message),
            final=final,
            done_at=parse_date(item.get("receiveDate") or item.get("resultDate")),
            resend_status=item.get("resendStatus") if isinstance(item.get("resendStatus"), str) else None,
            grouping_key=item.get("recipientGroupingKey")
            if isinstance(item.get("recipientGroupingKey"), str)
            else None,
        )


def _maybe_json(response: HttpResponse) -> Any:
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None


def _raise_for_transient(response: HttpResponse, what: str) -> None:
    if response.status == 429:
        raise ProviderThrottled(f"{what}: HTTP 429", retry_after=parse_retry_after(response.headers.get("retry-after")))
    if response.status >= 500:
        raise ProviderUnavailable(f"{what}: HTTP {response.status}", maybe_sent=False, status=response.status)


class NhnAlimtalkAdapter(ProviderAdapter):
    """The NHN API on a transport (by default a pooled aiohttp session)."""

    def __init__(
        self, api: NhnAlimtalkApi, transport: Transport, *, max_batch: int = 1000, owns_transport: bool = False
    ) -> None:
        self.api = api
        self.transport = transport
        self.max_batch = max_batch
        self._owns_transport = owns_transport

    @classmethod
    def from_config(cls, config: Any) -> NhnAlimtalkAdapter:
        """Build from a ``KakaoConnectorConfig`` with its own aiohttp session."""
        transport = AiohttpTransport(
            config.base_url,
            max_connections=config.max_connections,
            keepalive_seconds=config.keepalive_seconds,
            connect_timeout=config.connect_timeout_seconds,
            request_timeout=config.request_timeout_seconds,
        )
        api = NhnAlimtalkApi(config.app_key, config.secret_key.get_secret_value())
        return cls(api, transport, max_batch=config.max_batch, owns_transport=True)

    async def __aenter__(self) -> NhnAlimtalkAdapter:
        if self._owns_transport:
            await self.transport.__aenter__()  # type: ignore[attr-defined]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._owns_transport:
            await self.transport.__aexit__(*exc_info)  # type: ignore[attr-defined]

    async def send_batch(self, batch: SendBatch) -> BatchAnswer:
        response = await self.transport.request(self.api.send_request(batch))
        return self.api.parse_send_response(batch, response)

    async def fetch_results(self, request_id: str) -> Sequence[DeliveryReport]:
        reports: list[DeliveryReport] = []
        page = 1
        while True:
            request = self.api.query_request(request_id, page=page, page_size=self.max_batch)
            found, total = self.api.parse_query_response(await self.transport.request(request))
            reports.extend(found)
            if not found or len(reports) >= total or page >= 100:
                return reports
            page += 1

    def parse_webhook(self, body: bytes) -> Sequence[DeliveryReport]:
        return self.api.parse_webhook(body)
