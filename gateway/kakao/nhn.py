"""NHN Cloud KakaoTalk Bizmessage, Alimtalk API v2.3: requests, answers, webhook bodies.

:class:`NhnAlimtalkApi` is sans-I/O: it builds :class:`HttpRequest` objects and
reads :class:`HttpResponse` objects, nothing else; :class:`NhnAlimtalkAdapter`
puts it on a transport. Every shape is the one NHN documents (fixtures in
``tests/contract/nhn_alimtalk/``, from TOAST-DOCS/Alimtalk ``ko/alimtalk-api-guide.md``
and ``ko/webhook-api-guide.md``), and the parsers read no field NHN does not
document (checked by the contract tests). Calls used, all under
``/alimtalk/v2.3/appkeys/{appkey}`` with ``X-Secret-Key``:

* ``POST /raw-messages`` (``/auth/raw-messages`` for authentication templates):
  ``senderKey, templateCode, senderGroupingKey, recipientList[{recipientNo, content,
  templateTitle, templateHeader, templateItem, templateItemHighlight,
  templateRepresentLink, buttons, quickReplies, resendParameter,
  recipientGroupingKey}]``, header ``X-NC-API-IDEMPOTENCY-KEY``. The answer
  ``header{resultCode, resultMessage, isSuccessful}``, ``message{requestId,
  senderGroupingKey, sendResults[{recipientSeq, recipientNo, resultCode,
  resultMessage, recipientGroupingKey}]}`` is read whatever the HTTP status
  (NHN documents none); ``sendResults`` are paired with the request by
  ``recipientGroupingKey`` (ours are unique), then by ``recipientSeq``, and a
  recipient the answer does not mention is *unknown*, never guessed.
* ``GET /messages?startRequestDate&endRequestDate&senderGroupingKey`` (and
  ``/auth/messages``): what NHN accepted under one provider key;
* ``GET /message-results?startUpdateDate&endUpdateDate&alimtalkMessageType``:
  every result updated in a window (no ``totalCount``: paged until a short page);
* ``GET /messages/{requestId}/{recipientSeq}``: one record with ``resendStatus``,
  ``resendResultCode``, ``resendRequestId``;
* ``GET /senders/{senderKey}/templates`` and ``.../templates/{templateCode}``.

Webhooks: NHN's envelope ``{hooksId, webhookConfigId, productName, appKey,
event, hooks[]}``. A ``MESSAGE_RESULT_UPDATE`` hook carries ``kakaoMessageType,
requestId, recipientSeq, requestDate, createDate, receiveDate, recipientNo,
resultCode, senderGroupingKey, recipientGroupingKey, isAddedChannel, _links,
hookId`` and **no** ``messageStatus``: a hook with a ``resultCode`` is a result
(:mod:`gateway.kakao.codes` says which codes are final). Hooks of other products
(``FRIENDTALK_*``, ``BRAND_MESSAGE_*``, ``ALIMTALK_MASS``) and of another app key
are ignored. The template status hook (its event name is undocumented) is
recognised by its fields: ``senderKey, templateCode, status``.

Dates: :mod:`gateway.kakao.dates` (Korea Standard Time).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from gateway.httpclient import (
    AiohttpTransport,
    HttpRequest,
    HttpResponse,
    ProviderProtocolError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    Transport,
)
from gateway.kakao.codes import is_final
from gateway.kakao.config import DEFAULT_BASE_URL
from gateway.kakao.dates import format_minute, parse_nhn_date
from gateway.kakao.provider import (
    BatchAnswer,
    DeliveryReport,
    Found,
    Hooks,
    ProviderAdapter,
    RecipientAnswer,
    RecipientRequest,
    SendBatch,
    TemplateUpdate,
    carrier_id,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "IDEMPOTENCY_HEADER",
    "PROVIDER_RESENDS",
    "NhnAlimtalkAdapter",
    "NhnAlimtalkApi",
    "parse_retry_after",
]

IDEMPOTENCY_HEADER = "X-NC-API-IDEMPOTENCY-KEY"
ALIMTALK_KINDS = frozenset({"ALIMTALK_NORMAL", "ALIMTALK_AUTH"})
# Refusals NHN resends by SMS itself when resend is on ("This message can be resend
# by sms service if the resend setting is on": -3010, -3011 since 2018-11-13,
# -3042, -3043, -3046 since 2024-01-23).
PROVIDER_RESENDS = frozenset({"-3010", "-3011", "-3042", "-3043", "-3046"})
PAGE_SIZE = 1000
MAX_PAGES = 100

# The documented keys of a button and of a quick reply in the raw send (send-raw-messages.shape.json).
BUTTON_KEYS = (
    "ordering", "type", "name", "linkMo", "linkPc", "schemeIos", "schemeAndroid", "chatExtra", "chatEvent",
    "bizFormId", "pluginId", "relayId", "oneClickId", "productId", "target", "telNumber",
)  # fmt: skip
QUICK_REPLY_KEYS = (
    "ordering", "type", "name", "linkMo", "linkPc", "schemeIos", "schemeAndroid", "chatExtra", "chatEvent",
    "bizFormId", "target",
)  # fmt: skip
LINK_KEYS = ("linkMo", "linkPc", "schemeIos", "schemeAndroid")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form only)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _maybe_json(response: HttpResponse) -> Any:
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None


def _header(data: Any) -> tuple[bool, str, str] | None:
    header = data.get("header") if isinstance(data, dict) else None
    if not isinstance(header, dict):
        return None
    code = header.get("resultCode")
    return header.get("isSuccessful") is True, "" if code is None else str(code), str(header.get("resultMessage") or "")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _seq(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _code(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _shaped(items: Sequence[Mapping[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Buttons / quick replies with only the documented keys, numbered when they carry no ordering."""
    out = []
    for n, item in enumerate(items, start=1):
        shaped = {k: item[k] for k in keys if item.get(k) not in (None, "")}
        shaped.setdefault("ordering", n)
        out.append(shaped)
    return out


def _check_transient(response: HttpResponse, what: str) -> None:
    if response.status == 429:
        raise ProviderThrottled(f"{what}: HTTP 429", retry_after=parse_retry_after(response.headers.get("retry-after")))
    if response.status >= 500 and _header(_maybe_json(response)) is None:
        # 503 is "not taken"; a 502/504 from a proxy may come after NHN took the request
        raise ProviderUnavailable(
            f"{what}: HTTP {response.status}", maybe_sent=response.status != 503, status=response.status
        )


class NhnAlimtalkApi:
    """Sans-I/O codec of the NHN Alimtalk v2.3 API for one app key."""

    def __init__(self, app_key: str, secret_key: str, *, version: str = "v2.3") -> None:
        self.app_key = app_key
        self._secret_key = secret_key
        self._base = f"/alimtalk/{version}/appkeys/{app_key}"

    def _headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json;charset=UTF-8", "X-Secret-Key": self._secret_key}

    def _get(self, path: str, params: Mapping[str, str]) -> HttpRequest:
        return HttpRequest("GET", f"{self._base}{path}", self._headers(), dict(params), None)

    @staticmethod
    def _read(response: HttpResponse, what: str) -> tuple[dict[str, Any], tuple[bool, str, str]]:
        """The JSON body and its header, whatever the HTTP status; raises when there is no header."""
        _check_transient(response, what)
        data = _maybe_json(response)
        header = _header(data)
        if header is None:
            if response.status >= 400:
                raise ProviderRejected(
                    f"{what}: HTTP {response.status} without a result code",
                    code=f"http_{response.status}",
                    status=response.status,
                )
            raise ProviderProtocolError(f"{what}: HTTP {response.status} answer has no JSON header")
        assert isinstance(data, dict)
        return data, header

    def _answer(self, response: HttpResponse, what: str) -> dict[str, Any]:
        """The JSON body of a successful answer; raises for a failure header or an unreadable answer."""
        data, (ok, code, message) = self._read(response, what)
        if not ok:
            raise ProviderRejected(
                f"{what}: {code} {message}", code=code, provider_message=message, status=response.status
            )
        assert isinstance(data, dict)
        return data

    # ---------------------------------------------------------------- send
    @staticmethod
    def _recipient(r: RecipientRequest, resend_off: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"recipientNo": r.recipient_no, "content": r.content}
        if r.title:
            item["templateTitle"] = r.title
        if r.header:
            item["templateHeader"] = r.header
        if r.item:
            item["templateItem"] = dict(r.item)
        if r.highlight:
            item["templateItemHighlight"] = {k: v for k, v in r.highlight.items() if v not in (None, "")}
        if r.represent_link:
            item["templateRepresentLink"] = {k: r.represent_link[k] for k in LINK_KEYS if r.represent_link.get(k)}
        if r.buttons:
            item["buttons"] = _shaped(r.buttons, BUTTON_KEYS)
        if r.quick_replies:
            item["quickReplies"] = _shaped(r.quick_replies, QUICK_REPLY_KEYS)
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
        elif resend_off:
            # NHN resends by SMS on its own when the console has resend on (isResend
            # "콘솔에서 대체 발송 설정 시, 기본으로 대체 발송됩니다"): the gateway's own
            # fallback would then be a second SMS.
            item["resendParameter"] = {"isResend": False}
        if r.grouping_key:
            item["recipientGroupingKey"] = r.grouping_key
        return item

    def send_request(self, batch: SendBatch) -> HttpRequest:
        body = {
            "senderKey": batch.sender_key,
            "templateCode": batch.template_code,
            "senderGroupingKey": batch.idempotency_key,
            "recipientList": [self._recipient(r, batch.resend_off) for r in batch.recipients],
        }
        headers = self._headers()
        headers[IDEMPOTENCY_HEADER] = batch.idempotency_key
        encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        path = "/auth/raw-messages" if batch.auth else "/raw-messages"
        return HttpRequest("POST", f"{self._base}{path}", headers, {}, encoded)

    def parse_send_response(self, batch: SendBatch, response: HttpResponse) -> BatchAnswer:
        what = "alimtalk send"
        data, (ok, code, message) = self._read(response, what)
        raw = data.get("message")
        body: dict[str, Any] = raw if isinstance(raw, dict) else {}
        results = body.get("sendResults")
        if not isinstance(results, list) or not results:
            if not ok:
                raise ProviderRejected(
                    f"{what}: {code} {message}", code=code, provider_message=message, status=response.status
                )
            raise ProviderProtocolError(f"{what}: a successful answer without sendResults")
        request_id = _text(body.get("requestId"))
        paired = self._pair(batch, results)
        answers: list[RecipientAnswer] = []
        missing: list[int] = []
        for index in range(len(batch.recipients)):
            result = paired.get(index)
            if result is None:
                missing.append(index)
                continue
            r_code = _code(result.get("resultCode")) or ""
            seq = _seq(result.get("recipientSeq"))
            cid = None
            if request_id is not None and seq is not None and (r_code == "0" or r_code in PROVIDER_RESENDS):
                cid = carrier_id(request_id, seq)
            elif r_code == "0":  # accepted, but the answer does not say under which id
                missing.append(index)
                continue
            answers.append(RecipientAnswer(index, r_code, str(result.get("resultMessage") or ""), cid))
        return BatchAnswer(request_id, code, message, tuple(answers), tuple(missing))

    @staticmethod
    def _pair(batch: SendBatch, results: list[Any]) -> dict[int, Mapping[str, Any]]:
        """sendResults by recipient index: by our unique grouping key, else by recipientSeq."""
        by_key = {r.grouping_key: i for i, r in enumerate(batch.recipients) if r.grouping_key}
        paired: dict[int, Mapping[str, Any]] = {}
        rest: list[Mapping[str, Any]] = []
        for result in results:
            if not isinstance(result, dict):
                continue
            key = result.get("recipientGroupingKey")
            index = by_key.get(key) if isinstance(key, str) else None
            if index is not None and index not in paired:
                paired[index] = result
            else:
                rest.append(result)
        for result in rest:
            seq = _seq(result.get("recipientSeq"))
            if seq is None or not 1 <= seq <= len(batch.recipients) or seq - 1 in paired:
                continue
            key = result.get("recipientGroupingKey")
            wanted = batch.recipients[seq - 1].grouping_key
            if isinstance(key, str) and key and wanted and key != wanted:
                continue  # it names another recipient: never guess
            paired[seq - 1] = result
        return paired

    # ---------------------------------------------------------------- lookups
    def list_request(self, key: str, since: datetime, until: datetime, *, auth: bool, page: int = 1) -> HttpRequest:
        params = {
            "startRequestDate": format_minute(since),
            "endRequestDate": format_minute(until),
            "senderGroupingKey": key,
            "pageNum": str(page),
            "pageSize": str(PAGE_SIZE),
        }
        return self._get("/auth/messages" if auth else "/messages", params)

    def parse_list_response(self, response: HttpResponse) -> tuple[list[Found], int]:
        what = "alimtalk list query"
        data = self._answer(response, what)
        page = data.get("messageSearchResultResponse")
        if not isinstance(page, dict) or not isinstance(page.get("messages"), list):
            raise ProviderProtocolError(f"{what}: no messageSearchResultResponse.messages")
        found = []
        for item in page["messages"]:
            if not isinstance(item, dict):
                continue
            key, request_id, seq = (
                _text(item.get("recipientGroupingKey")),
                _text(item.get("requestId")),
                _seq(item.get("recipientSeq")),
            )
            if key is None or request_id is None or seq is None:
                continue
            found.append(Found(key, request_id, seq, _code(item.get("resultCode")), _text(item.get("messageStatus"))))
        total = page.get("totalCount")
        return found, total if isinstance(total, int) and not isinstance(total, bool) else len(page["messages"])

    def results_request(self, since: datetime, until: datetime, *, auth: bool, page: int = 1) -> HttpRequest:
        params = {
            "startUpdateDate": format_minute(since),
            "endUpdateDate": format_minute(until),
            "alimtalkMessageType": "AUTH" if auth else "NORMAL",
            "pageNum": str(page),
            "pageSize": str(PAGE_SIZE),
        }
        return self._get("/message-results", params)

    def parse_results_response(self, response: HttpResponse, *, auth: bool = False) -> list[DeliveryReport]:
        what = "alimtalk result updates"
        data = self._answer(response, what)
        messages = data.get("messages")
        if not isinstance(messages, list):
            raise ProviderProtocolError(f"{what}: no messages list")
        return [r for r in (self._query_report(item, auth=auth) for item in messages) if r is not None]

    def one_request(self, request_id: str, recipient_seq: int, *, auth: bool) -> HttpRequest:
        prefix = "/auth/messages" if auth else "/messages"
        return self._get(f"{prefix}/{request_id}/{recipient_seq}", {})

    def parse_one_response(self, response: HttpResponse, *, auth: bool = False) -> DeliveryReport | None:
        what = "alimtalk message query"
        data = self._answer(response, what)
        item = data.get("message")
        return self._query_report(item, auth=auth) if isinstance(item, dict) else None

    @staticmethod
    def _query_report(item: Any, *, auth: bool) -> DeliveryReport | None:
        """A row of a result query: ``requestId, recipientSeq, receiveDate, resendStatus,
        resendResultCode, resendRequestId, resultCode, resultCodeName``."""
        if not isinstance(item, dict):
            return None
        request_id, seq = _text(item.get("requestId")), _seq(item.get("recipientSeq"))
        if request_id is None or seq is None:
            return None
        code = _code(item.get("resultCode"))
        return DeliveryReport(
            carrier_id=carrier_id(request_id, seq),
            request_id=request_id,
            recipient_seq=seq,
            code=code,
            message=str(item.get("resultCodeName") or ""),
            final=is_final(code),
            done_at=parse_nhn_date(item.get("receiveDate")),
            resend_status=_text(item.get("resendStatus")),
            resend_code=_code(item.get("resendResultCode")),
            resend_request_id=_text(item.get("resendRequestId")),
            auth=auth,
        )

    # ---------------------------------------------------------------- webhook
    def parse_webhook(self, body: bytes) -> Hooks:
        what = "alimtalk webhook"
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProviderProtocolError(f"{what}: body is not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("hooks"), list):
            raise ProviderProtocolError(f"{what}: expected an object with a 'hooks' list")
        event = str(data.get("event") or "")
        hooks = data["hooks"]
        app_key = data.get("appKey")
        if isinstance(app_key, str) and app_key and app_key != self.app_key:
            return Hooks(ignored=len(hooks), event=event, detail={"other_app_key": True})
        reports: list[DeliveryReport] = []
        templates: list[TemplateUpdate] = []
        ignored = 0
        for hook in hooks:
            if not isinstance(hook, dict):
                raise ProviderProtocolError(f"{what}: a hook is not an object")
            if "requestId" in hook:
                kind = hook.get("kakaoMessageType")
                if kind is not None and kind not in ALIMTALK_KINDS:
                    ignored += 1
                    continue
                reports.append(self._hook_report(hook, what))
            elif "templateCode" in hook and "status" in hook:
                templates.append(self._template_update(hook, what))
            else:
                ignored += 1
        return Hooks(tuple(reports), tuple(templates), ignored, event)

    @staticmethod
    def _hook_report(hook: Mapping[str, Any], what: str) -> DeliveryReport:
        request_id, seq = _text(hook.get("requestId")), _seq(hook.get("recipientSeq"))
        if request_id is None or seq is None:
            raise ProviderProtocolError(f"{what}: a result hook lacks requestId/recipientSeq")
        code = _code(hook.get("resultCode"))
        return DeliveryReport(
            carrier_id=carrier_id(request_id, seq),
            request_id=request_id,
            recipient_seq=seq,
            code=code,
            message="",
            final=is_final(code),
            done_at=parse_nhn_date(hook.get("receiveDate")),
            grouping_key=_text(hook.get("recipientGroupingKey")),
            hook_id=_text(hook.get("hookId")),
            auth=hook.get("kakaoMessageType") == "ALIMTALK_AUTH",
        )

    @staticmethod
    def _template_update(hook: Mapping[str, Any], what: str) -> TemplateUpdate:
        sender, code, status = _text(hook.get("senderKey")), _text(hook.get("templateCode")), _text(hook.get("status"))
        if sender is None or code is None or status is None:
            raise ProviderProtocolError(f"{what}: a template hook lacks senderKey/templateCode/status")
        comments = hook.get("comments")
        texts = (
            tuple(str(c.get("content")) for c in comments if isinstance(c, dict) and c.get("content"))
            if isinstance(comments, list)
            else ()
        )
        return TemplateUpdate(sender, code, status, texts, parse_nhn_date(hook.get("updateDate")))

    # ---------------------------------------------------------------- templates
    def templates_request(self, sender_key: str, *, page: int = 1) -> HttpRequest:
        return self._get(f"/senders/{sender_key}/templates", {"pageNum": str(page), "pageSize": str(PAGE_SIZE)})

    def parse_templates_response(self, response: HttpResponse) -> tuple[list[dict[str, Any]], int]:
        what = "alimtalk template list"
        data = self._answer(response, what)
        page = data.get("templateListResponse")
        if not isinstance(page, dict) or not isinstance(page.get("templates"), list):
            raise ProviderProtocolError(f"{what}: no templateListResponse.templates")
        items = [t for t in page["templates"] if isinstance(t, dict)]
        total = page.get("totalCount")
        return items, total if isinstance(total, int) and not isinstance(total, bool) else len(items)

    def template_request(self, sender_key: str, template_code: str) -> HttpRequest:
        return self._get(f"/senders/{sender_key}/templates/{template_code}", {})

    def parse_template_response(self, response: HttpResponse) -> dict[str, Any] | None:
        data = self._answer(response, "alimtalk template query")
        item = data.get("templates")
        return item if isinstance(item, dict) else None


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
        transport = AiohttpTransport.from_config(config)
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

    async def find_sent(self, key: str, *, since: datetime, until: datetime, auth: bool = False) -> list[Found]:
        # NHN's window is at most 30 days and nothing older than 90 days is kept.
        until = max(until, since)
        since = max(since, until - timedelta(days=29))
        found: list[Found] = []
        for page in range(1, MAX_PAGES + 1):
            request = self.api.list_request(key, since, until, auth=auth, page=page)
            items, total = self.api.parse_list_response(await self.transport.request(request))
            found.extend(items)
            if not items or page * PAGE_SIZE >= total:
                break
        return found

    async def fetch_updates(self, since: datetime, until: datetime, *, auth: bool = False) -> list[DeliveryReport]:
        reports: list[DeliveryReport] = []
        for page in range(1, MAX_PAGES + 1):
            request = self.api.results_request(since, until, auth=auth, page=page)
            response = await self.transport.request(request)
            items = self.api.parse_results_response(response, auth=auth)
            reports.extend(items)
            if len(items) < PAGE_SIZE:
                break
        return reports

    async def fetch_one(self, request_id: str, recipient_seq: int, *, auth: bool = False) -> DeliveryReport | None:
        response = await self.transport.request(self.api.one_request(request_id, recipient_seq, auth=auth))
        try:
            return self.api.parse_one_response(response, auth=auth)
        except ProviderRejected as exc:
            if exc.code == "-1016":  # "메시지가 존재하지 않음": NHN does not know it
                return None
            raise

    def parse_webhook(self, body: bytes) -> Hooks:
        return self.api.parse_webhook(body)

    async def list_templates(self, sender_key: str) -> list[dict[str, Any]]:
        templates: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            request = self.api.templates_request(sender_key, page=page)
            items, total = self.api.parse_templates_response(await self.transport.request(request))
            templates.extend(items)
            if not items or page * PAGE_SIZE >= total:
                break
        return templates

    async def get_template(self, sender_key: str, template_code: str) -> dict[str, Any] | None:
        response = await self.transport.request(self.api.template_request(sender_key, template_code))
        return self.api.parse_template_response(response)
