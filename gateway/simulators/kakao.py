"""An NHN Cloud Alimtalk v2.3 provider simulator (aiohttp), for tests, benchmarks and demos.

It answers and posts only the shapes NHN documents (TOAST-DOCS/Alimtalk
``ko/alimtalk-api-guide.md`` and ``ko/webhook-api-guide.md``, transcribed in
``tests/contract/nhn_alimtalk/``; a contract test compares every body it emits
with those fixtures, key by key). Routes, under ``/alimtalk/v2.3/appkeys/{appkey}``:

* ``POST /raw-messages``, ``POST /auth/raw-messages``: the send, with
  ``X-Secret-Key``, the ``X-NC-API-IDEMPOTENCY-KEY`` 10-minute repeat check
  (-1005), the 1,300-character body (-2019), the authentication word of the auth
  endpoint (-8006), templates it knows (-3005 not approved, -3010 body mismatch);
  every recipient refused: header -1031 and ``requestId: null``;
* ``GET /messages`` (and ``/auth/messages``): by ``requestId`` or a request/create
  date window, filtered by ``senderGroupingKey`` / ``recipientGroupingKey``;
* ``GET /messages/{requestId}/{recipientSeq}`` (and ``/auth/...``);
* ``GET /message-results`` and ``/message-results/count``: results updated in a window;
* ``GET /senders/{senderKey}/templates`` and ``.../templates/{templateCode}``.

Every answer is HTTP 200 with NHN's JSON ``header`` (NHN documents no HTTP
status). Results are posted to ``webhook_url`` in NHN's envelope, one
``MESSAGE_RESULT_UPDATE`` hook per recipient with exactly the documented fields
(no ``messageStatus``; ``receiveDate`` as the documented bare date by default),
signed as NHN does: ``X-Toast-Webhook-Signature`` = the configured signature.
Dates are Korea Standard Time.

Knobs: latency (+ jitter), the delay before results are final, a result mix
(weights by code or alias: ``delivered``, ``not_kakao_user``, ``cannot_send``,
``blocked_alimtalk``, ``invalid_number``, ``ack_timeout``, ``kakao_error``,
``template_mismatch``), per-recipient scripts (a synchronous code and/or a
delivery code for one number), NHN's own SMS resend (``console_resend``, what
the console setting does; ``resend_delay``), templates (``add_template``),
template status hooks (``post_template_status``), hooks dropped
(``drop_hooks``). Infrastructure faults, which NHN does not document and a
real network produces: bursts of 5xx (``fail_next``), an outage switch
(``outage = True``), 429s (``throttle_next``) and late answers to handled
requests (``slow_next``: a client that timed out never hears them).
Counters (``requests``, ``recipients_received``, ``accepted``, ``batch_sizes``,
``idempotency_keys``, ``sent_bodies``, ``sent_headers``, ``webhooks_delivered``,
``hook_bodies``) let tests assert what reached the provider.

    async with KakaoSimulator(result_mix={"delivered": 9, "not_kakao_user": 1}) as sim:
        config = KakaoConnectorConfig(..., base_url=sim.base_url, app_key=sim.app_key, ...)

Serving, the fault knobs and the webhook poster are shared with the NHN SMS
simulator (:mod:`gateway.simulators._http_peer`).

``main(argv)`` runs it standalone (``gateway simulate kakao --port ... --webhook-url ...``, or
``python -m gateway.simulators.kakao``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from aiohttp import web

from gateway.kakao.codes import CODES
from gateway.kakao.dates import KST, parse_nhn_date
from gateway.kakao.matching import compile_text
from gateway.kakao.rules import has_auth_word
from gateway.simulators._http_peer import HttpProviderSimulator, Script, peer_parser, peer_settings, serve_forever

__all__ = ["KakaoSimulator", "main"]

log = structlog.get_logger("gateway.simulators.kakao")

ALIASES = {
    "delivered": "1000",
    "not_kakao_user": "3019",
    "cannot_send": "3018",
    "blocked_alimtalk": "3020",
    "invalid_number": "3008",
    "ack_timeout": "3005",
    "kakao_error": "9999",
    "template_mismatch": "3016",
}
RESEND_NAMES = {
    "RSC01": "대체 발송 미대상",
    "RSC02": "대체 발송 대상",
    "RSC03": "대체 발송 중",
    "RSC04": "대체 발송 성공",
}
TEMPLATE_STATUS_EVENT = "TEMPLATE_STATUS_UPDATE"  # not documented by NHN; the connector does not rely on it
_RECORDED = (
    "templateTitle", "templateHeader", "templateItem", "templateItemHighlight", "templateRepresentLink", "buttons",
    "quickReplies",
)  # fmt: skip
_TSC_NAMES = {"TSC01": "요청", "TSC02": "검수 중", "TSC03": "승인", "TSC04": "반려"}


# The documented keys of the nested objects, in the documents' order (get-message / template shapes).
_LINKS = ("linkMo", "linkPc", "schemeIos", "schemeAndroid")
_SEND_BUTTON = ("ordering", "type", "name", *_LINKS, "chatExtra", "chatEvent", "bizFormId", "pluginId", "relayId",
                "oneClickId", "productId", "target", "telNumber")  # fmt: skip
_SEND_REPLY = ("ordering", "type", "name", *_LINKS, "chatExtra", "chatEvent", "bizFormId", "target")
_TEMPLATE_BUTTON = ("ordering", "type", "name", *_LINKS, "bizFormId", "pluginId", "telNumber")
_TEMPLATE_REPLY = ("ordering", "type", "name", *_LINKS, "bizFormId")


def _keys(item: Any, keys: Sequence[str]) -> dict[str, Any] | None:
    """An object with exactly the documented keys (null where unset)."""
    if not isinstance(item, Mapping):
        return None
    return {k: item.get(k) for k in keys}


def _item(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, Mapping):
        return None
    raw = item.get("list")
    entries: list[Any] = raw if isinstance(raw, list) else []
    return {
        "list": [_keys(e, ("title", "description")) for e in entries],
        "summary": _keys(item.get("summary"), ("title", "description")),
    }


def _code(name_or_code: str) -> str:
    return ALIASES.get(name_or_code, name_or_code)


def _api_message(code: int) -> str:
    if code == 0:
        return "SUCCESS"
    info = CODES.get(str(code))
    return info.api_message or info.description if info else "Unknown error."


def _ts(moment: datetime | None) -> str | None:
    """The documented answer date form, ``yyyy-MM-dd HH:mm:ss.S``."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + str(moment.microsecond // 100_000)


@dataclass(slots=True)
class _Record:
    request_id: str
    seq: int
    recipient_no: str
    grouping_key: str | None
    sender_grouping_key: str | None
    sender_key: str
    template_code: str
    content: str
    code: str  # the delivery result once ready
    created: datetime  # KST
    ready_at: datetime  # when the result is final (KST)
    auth: bool = False
    resend: bool = False  # NHN's own SMS resend applies
    resend_at: datetime | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # template fields and buttons of the request
    hooked: bool = False
    created_text: str = ""  # _ts(created), once per request
    ready_text: str = ""  # _ts(ready_at)

    def __post_init__(self) -> None:
        self.created_text = self.created_text or str(self.created_text)
        self.ready_text = self.ready_text or str(_ts(self.ready_at))

    def final(self, now: datetime) -> bool:
        return now >= self.ready_at

    def resend_state(self, now: datetime) -> tuple[str, str | None, str | None]:
        """(resendStatus, resendResultCode, resendRequestId) of NHN's own SMS resend."""
        if not self.resend:
            return "RSC01", None, None  # not a resend target
        if not self.final(now):
            return "RSC02", None, None  # a target: resent if the result is a failure
        if self.code == "1000":
            return "RSC01", None, None
        if self.resend_at is None or now < self.resend_at:
            return "RSC03", None, None  # resending
        return "RSC04", "1000", f"sms-{self.request_id}-{self.seq}"  # resent

    def _result(self, now: datetime) -> dict[str, Any]:
        final = self.final(now)
        status, r_code, r_request = self.resend_state(now)
        info = CODES.get(self.code)
        return {
            "receiveDate": self.ready_text if final else None,
            "resendStatus": status,
            "resendStatusName": RESEND_NAMES.get(status, "대체 발송 실패"),
            "resendResultCode": r_code,
            "resendRequestId": r_request,
            "messageStatus": ("COMPLETED" if self.code == "1000" else "FAILED") if final else None,
            "resultCode": self.code if final else None,
            "resultCodeName": (info.ko if info else "") if final else None,
        }

    def list_view(self, now: datetime) -> dict[str, Any]:
        """One row of ``GET /messages`` (list-messages.shape.json, key order kept)."""
        r = self._result(now)
        return {
            "requestId": self.request_id,
            "recipientSeq": self.seq,
            "plusFriendId": "@simulator",
            "senderKey": self.sender_key,
            "templateCode": self.template_code,
            "recipientNo": self.recipient_no,
            "content": self.content,
            "requestDate": self.created_text,
            "createDate": self.created_text,
            "receiveDate": r["receiveDate"],
            "resendStatus": r["resendStatus"],
            "resendStatusName": r["resendStatusName"],
            "messageStatus": r["messageStatus"],
            "resultCode": r["resultCode"],
            "resultCodeName": r["resultCodeName"],
            "createUser": None,
            "senderGroupingKey": self.sender_grouping_key,
            "recipientGroupingKey": self.grouping_key,
        }

    def one_view(self, now: datetime) -> dict[str, Any]:
        """``GET /messages/{requestId}/{recipientSeq}`` (get-message.shape.json)."""
        r = self._result(now)
        f = self.fields
        return {
            "requestId": self.request_id,
            "recipientSeq": self.seq,
            "plusFriendId": "@simulator",
            "senderKey": self.sender_key,
            "templateCode": self.template_code,
            "recipientNo": self.recipient_no,
            "content": self.content,
            "templateTitle": f.get("templateTitle"),
            "templateSubtitle": None,
            "templateExtra": None,
            "templateAd": None,
            "templateHeader": f.get("templateHeader"),
            "templateItem": _item(f.get("templateItem")),
            "templateItemHighlight": _keys(f.get("templateItemHighlight"), ("title", "description", "imageUrl")),
            "templateRepresentLink": _keys(f.get("templateRepresentLink"), _LINKS),
            "requestDate": self.created_text,
            "receiveDate": r["receiveDate"],
            "createDate": self.created_text,
            "resendStatus": r["resendStatus"],
            "resendStatusName": r["resendStatusName"],
            "resendResultCode": r["resendResultCode"],
            "resendRequestId": r["resendRequestId"],
            "messageStatus": r["messageStatus"],
            "resultCode": r["resultCode"],
            "resultCodeName": r["resultCodeName"],
            "createUser": None,
            "buttons": [_keys(b, _SEND_BUTTON) for b in f.get("buttons") or []],
            "quickReplies": [_keys(q, _SEND_REPLY) for q in f.get("quickReplies") or []],
            "messageOption": None,
            "senderGroupingKey": self.sender_grouping_key,
            "recipientGroupingKey": self.grouping_key,
        }

    def result_view(self, now: datetime) -> dict[str, Any]:
        """One row of ``GET /message-results`` (message-results.shape.json)."""
        r = self._result(now)
        return {
            "requestId": self.request_id,
            "recipientSeq": self.seq,
            "requestDate": self.created_text,
            "createDate": self.created_text,
            "receiveDate": r["receiveDate"],
            "resendStatus": r["resendStatus"],
            "resendStatusName": r["resendStatusName"],
            "resendResultCode": r["resendResultCode"],
            "resendRequestId": r["resendRequestId"],
            "messageStatus": r["messageStatus"],
            "resultCode": r["resultCode"],
            "resultCodeName": r["resultCodeName"],
        }

    def hook(self, app_key: str, hook_id: str, *, bare_date: bool) -> dict[str, Any]:
        """One ``MESSAGE_RESULT_UPDATE`` hook (webhook-message-result-update.hooks.json)."""
        receive = self.ready_text[:10] if bare_date else self.ready_text
        kind = "ALIMTALK_AUTH" if self.auth else "ALIMTALK_NORMAL"
        prefix = "/auth" if self.auth else ""
        return {
            "kakaoMessageType": kind,
            "requestId": self.request_id,
            "recipientSeq": self.seq,
            "requestDate": self.created_text,
            "createDate": self.created_text,
            "receiveDate": receive,
            "recipientNo": self.recipient_no,
            "resultCode": self.code,
            "senderGroupingKey": self.sender_grouping_key,
            "recipientGroupingKey": self.grouping_key,
            "isAddedChannel": None,
            "_links": {
                "self": {"href": f"/alimtalk/v2.3/appkeys/{app_key}{prefix}/messages/{self.request_id}/{self.seq}"}
            },
            "hookId": hook_id,
        }


class KakaoSimulator(HttpProviderSimulator):
    def __init__(
        self,
        *,
        app_key: str = "sim-app-key",
        secret_key: str = "sim-secret",
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        result_delay: float = 0.0,
        result_mix: Mapping[str, float] | None = None,
        webhook_url: str | None = None,
        webhook_secret: str = "",
        webhook_batch: int = 500,
        webhook_interval: float = 0.02,
        hook_bare_date: bool = True,
        console_resend: bool = False,
        resend_delay: float = 0.5,
        max_recipients: int = 1000,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            app_key=app_key,
            secret_key=secret_key,
            host=host,
            port=port,
            latency=latency,
            latency_jitter=latency_jitter,
            result_delay=result_delay,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            webhook_batch=webhook_batch,
            webhook_interval=webhook_interval,
            seed=seed,
        )
        mix = result_mix or {"delivered": 1.0}
        self._mix_codes = [_code(k) for k in mix]
        self._mix_weights = [float(v) for v in mix.values()]
        self.hook_bare_date = hook_bare_date
        self.console_resend = console_resend
        self.resend_delay = resend_delay
        self.max_recipients = max_recipients
        self.drop_hooks = False  # results are final but no hook is posted (a lost webhook)
        self._scripts: dict[str, Script] = {}
        self._records: dict[str, list[_Record]] = {}
        self._unhooked: list[_Record] = []  # accepted, no hook posted yet
        self._idempotency: dict[str, float] = {}
        self._templates: dict[tuple[str, str], dict[str, Any]] = {}
        self._template_hooks: list[dict[str, Any]] = []
        self._counter = 0
        self._hook_counter = 0
        # counters for tests (and requests, webhooks_delivered, webhook_failures)
        self.recipients_received = 0
        self.accepted = 0
        self.batch_sizes: list[int] = []
        self.idempotency_keys: list[str] = []
        self.sent_bodies: deque[dict[str, Any]] = deque(maxlen=20)  # the last send request bodies
        self.sent_headers: deque[dict[str, str]] = deque(maxlen=20)
        self.hook_bodies: deque[dict[str, Any]] = deque(maxlen=20)  # the last webhook bodies posted

    # ---------------------------------------------------------------- knobs (and fail_next, throttle_next, slow_next)
    def script(self, recipient_no: str, *, send_code: str | None = None, result_code: str | None = None) -> None:
        """Fix what happens to one recipient number (codes or aliases)."""
        self._scripts[recipient_no] = Script(
            _code(send_code) if send_code else None, _code(result_code) if result_code else None
        )

    def add_template(self, sender_key: str, template_code: str, content: str, **fields: Any) -> None:
        """A template the simulator knows, in NHN's shape (``status`` TSC01..TSC04, default TSC03)."""
        now = _ts(datetime.now(KST))
        template: dict[str, Any] = {
            "plusFriendId": "@simulator",
            "senderKey": sender_key,
            "plusFriendType": "NORMAL",
            "templateCode": template_code,
            "kakaoTemplateCode": template_code,
            "templateName": fields.pop("templateName", template_code),
            "templateMessageType": fields.pop("templateMessageType", "BA"),
            "templateEmphasizeType": fields.pop("templateEmphasizeType", "NONE"),
            "templateContent": content,
            "templateExtra": fields.pop("templateExtra", None),
            "templateAd": fields.pop("templateAd", None),
            "templateTitle": fields.pop("templateTitle", None),
            "templateSubtitle": fields.pop("templateSubtitle", None),
            "templateHeader": fields.pop("templateHeader", None),
            "templateItem": _item(fields.pop("templateItem", None)),
            "templateItemHighlight": _keys(
                fields.pop("templateItemHighlight", None), ("title", "description", "imageUrl")
            ),
            "templateRepresentLink": _keys(fields.pop("templateRepresentLink", None), _LINKS),
            "templateImageName": fields.pop("templateImageName", None),
            "templateImageUrl": fields.pop("templateImageUrl", None),
            "buttons": [_keys(b, _TEMPLATE_BUTTON) for b in fields.pop("buttons", [])],
            "quickReplies": [_keys(q, _TEMPLATE_REPLY) for q in fields.pop("quickReplies", [])],
            "comments": [],
            "status": fields.pop("status", "TSC03"),
            "statusName": "",
            "securityFlag": fields.pop("securityFlag", False),
            "categoryCode": fields.pop("categoryCode", "999999"),
            "createDate": now,
            "updateDate": now,
        }
        block, dormant = fields.pop("block", False), fields.pop("dormant", False)
        if fields:
            raise TypeError(f"unknown template fields: {sorted(fields)}")
        template["statusName"] = _TSC_NAMES.get(template["status"], "")
        self._templates[(sender_key, template_code)] = {**template, "_block": block, "_dormant": dormant}

    def post_template_status(self, sender_key: str, template_code: str, status: str, comment: str = "") -> None:
        """Change a template's status and post NHN's template hook (the event name is not documented)."""
        template = self._templates.get((sender_key, template_code))
        if template is not None:
            template["status"] = status
            template["statusName"] = _TSC_NAMES.get(status, "")
        self._hook_counter += 1
        now = _ts(datetime.now(KST))
        comments = []
        if comment:
            comments.append(
                {
                    "id": self._hook_counter,
                    "content": comment,
                    "userName": "kakao",
                    "createdAt": now,
                    "attachment": [],
                    "status": "REJ" if status == "TSC04" else "APR",
                }
            )
        self._template_hooks.append(
            {
                "senderKey": sender_key,
                "templateCode": template_code,
                "kakaoTemplateCode": template_code,
                "status": status,
                "comments": comments,
                "updateDate": now,
                "hookId": f"tpl-{self._hook_counter:012d}",
            }
        )

    def records(self) -> list[dict[str, Any]]:
        now = datetime.now(KST)
        return [r.one_view(now) for recs in self._records.values() for r in recs]

    # ---------------------------------------------------------------- routes
    def _add_routes(self, app: web.Application) -> None:
        base = "/alimtalk/v2.3/appkeys/{appkey}"
        for prefix, auth in (("", False), ("/auth", True)):
            app.router.add_post(base + prefix + "/raw-messages", self._sender(auth))
            app.router.add_get(base + prefix + "/messages", self._lister(auth))
            app.router.add_get(base + prefix + "/messages/{request_id}/{seq}", self._one(auth))
        app.router.add_get(base + "/message-results", self._results)
        app.router.add_get(base + "/message-results/count", self._results_count)
        app.router.add_get(base + "/senders/{sender_key}/templates", self._template_list)
        app.router.add_get(base + "/senders/{sender_key}/templates/{template_code}", self._template_one)

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _header(code: int, message: str | None = None) -> dict[str, Any]:
        return {"resultCode": code, "resultMessage": message or _api_message(code), "isSuccessful": code == 0}

    def _fail(self, code: int, message: str | None = None) -> web.Response:
        return web.json_response({"header": self._header(code, message)})

    def _auth(self, request: web.Request) -> web.Response | None:
        if request.match_info["appkey"] != self.app_key:
            return self._fail(-1000)
        if request.headers.get("X-Secret-Key") != self.secret_key:
            return self._fail(-1001)
        return None

    def _all_records(self, auth: bool) -> list[_Record]:
        return [r for recs in self._records.values() for r in recs if r.auth is auth]

    # ---------------------------------------------------------------- send
    def _sender(self, auth: bool) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return await self._send(request, auth)

        return handler

    def _recipient_code(self, item: Mapping[str, Any], template: dict[str, Any] | None, auth: bool) -> str:
        content = item.get("content")
        script = self._scripts.get(str(item.get("recipientNo", "")), Script())
        if not isinstance(content, str) or not content:
            return "-2001"
        if len(content) > 1300:
            return "-2019"
        if auth and not has_auth_word(content):
            return "-8006"
        if template is not None:
            if template["status"] != "TSC03":
                return "-3005"
            if not compile_text(template["templateContent"]).matches(content):
                return "-3010"
            if len(item.get("buttons") or []) != len(template["buttons"] or []):
                return "-3011"
        return script.send_code or "0"

    async def _send(self, request: web.Request, auth: bool) -> web.Response:
        self.requests["send"] += 1
        if auth:
            self.requests["send_auth"] += 1
        raw = await request.read()
        denied = await self._admit(request)
        if denied is not None:
            return denied
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return self._fail(-9996)
        try:
            body = json.loads(raw)
        except ValueError:
            return self._fail(-9997, "request body is not JSON")
        if isinstance(body, dict):
            self.sent_bodies.append(body)
            self.sent_headers.append(dict(request.headers))
        key = request.headers.get("X-NC-API-IDEMPOTENCY-KEY")
        clock = time.monotonic()
        if key:
            self.idempotency_keys.append(key)
            seen = self._idempotency.get(key)
            if seen is not None and clock - seen < 600:
                return self._fail(-1005)
            self._idempotency[key] = clock
        if not isinstance(body, dict):
            return self._fail(4, "request body is not a JSON object")
        sender_key, template_code = body.get("senderKey"), body.get("templateCode")
        recipients = body.get("recipientList")
        if not sender_key or not template_code:
            return self._fail(-2001, "The 'senderKey' and 'templateCode' must not be blank.")
        if not isinstance(recipients, list) or not 1 <= len(recipients) <= self.max_recipients:
            return self._fail(-2004, f"The 'recipientList' must be between 1 and {self.max_recipients}.")
        self.batch_sizes.append(len(recipients))
        self._counter += 1
        now = datetime.now(KST)
        request_id = f"{now:%Y%m%d%H%M%S}{self.rng.getrandbits(40):010x}{self._counter}"
        template = self._templates.get((sender_key, template_code))
        ready = now + timedelta(seconds=self.result_delay)
        created_text, ready_text = str(_ts(now)), str(_ts(ready))
        results, records = [], []
        resendable = False
        for seq, given in enumerate(recipients, start=1):
            self.recipients_received += 1
            item: dict[str, Any] = given if isinstance(given, dict) else {}
            number = str(item.get("recipientNo", ""))
            code = self._recipient_code(item, template, auth)
            resend_param = item.get("resendParameter")
            asked = resend_param.get("isResend") if isinstance(resend_param, dict) else None
            resend = (self.console_resend if asked is None else asked) is True
            if code == "0":
                self.accepted += 1
                script = self._scripts.get(number, Script())
                result = script.result_code or self.rng.choices(self._mix_codes, self._mix_weights)[0]
                records.append(
                    _Record(
                        request_id,
                        seq,
                        number,
                        item.get("recipientGroupingKey"),
                        body.get("senderGroupingKey"),
                        sender_key,
                        template_code,
                        str(item.get("content")),
                        result,
                        now,
                        ready,
                        auth=auth,
                        resend=resend,
                        resend_at=ready + timedelta(seconds=self.resend_delay) if resend else None,
                        fields={k: item[k] for k in _RECORDED if k in item},
                        created_text=created_text,
                        ready_text=ready_text,
                    )
                )
            elif resend and code in ("-3010", "-3011", "-3042", "-3043", "-3046"):
                resendable = True  # NHN resends these by SMS itself
            results.append(
                {
                    "recipientSeq": seq,
                    "recipientNo": number,
                    "resultCode": int(code),
                    "resultMessage": _api_message(int(code)),
                    "recipientGroupingKey": item.get("recipientGroupingKey"),
                }
            )
        if records:
            self._records[request_id] = records
            self._unhooked.extend(records)
        await self._slow_answer()
        if not records and not resendable:
            message = {"requestId": None, "senderGroupingKey": body.get("senderGroupingKey"), "sendResults": results}
            return web.json_response({"header": self._header(-1031), "message": message})
        message = {"requestId": request_id, "senderGroupingKey": body.get("senderGroupingKey"), "sendResults": results}
        return web.json_response({"header": self._header(0), "message": message})

    # ---------------------------------------------------------------- queries
    def _lister(self, auth: bool) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return await self._list(request, auth)

        return handler

    @staticmethod
    def _paging(request: web.Request) -> tuple[int, int]:
        try:
            page = max(1, int(request.query.get("pageNum", "1")))
            size = max(1, min(1000, int(request.query.get("pageSize", "15"))))
        except ValueError:
            return 1, 15
        return page, size

    @staticmethod
    def _window(request: web.Request, start: str, end: str) -> tuple[datetime, datetime] | str | None:
        a, b = request.query.get(start), request.query.get(end)
        if a is None and b is None:
            return None
        since, until = parse_nhn_date(a), parse_nhn_date(b)
        if since is None or until is None or len(a or "") != 16 or len(b or "") != 16:
            return "bad"
        return since, until + timedelta(seconds=59.999999)

    async def _list(self, request: web.Request, auth: bool) -> web.Response:
        self.requests["list"] += 1
        await self._delay()
        if self.outage:
            return web.Response(status=503, text="simulated outage")
        denied = self._auth(request)
        if denied is not None:
            return denied
        query = request.query
        records = self._all_records(auth)
        request_id = query.get("requestId")
        windows = [self._window(request, "startRequestDate", "endRequestDate"),
                   self._window(request, "startCreateDate", "endCreateDate")]  # fmt: skip
        if "bad" in windows:
            return self._fail(-2027)
        if request_id:
            records = [r for r in records if r.request_id == request_id]
        elif not any(windows):
            return self._fail(-2001, "requestId or a date range is required.")
        for window in windows:
            if isinstance(window, tuple):
                if window[1] - window[0] > timedelta(days=31):
                    return self._fail(-4003)
                records = [r for r in records if window[0] <= r.created <= window[1]]
        for param, attr in (("senderGroupingKey", "sender_grouping_key"), ("recipientGroupingKey", "grouping_key"),
                            ("recipientNo", "recipient_no"), ("templateCode", "template_code"),
                            ("senderKey", "sender_key")):  # fmt: skip
            if query.get(param):
                records = [r for r in records if getattr(r, attr) == query[param]]
        records.sort(key=lambda r: (r.created, r.request_id, r.seq), reverse=True)
        page, size = self._paging(request)
        now = datetime.now(KST)
        chosen = records[(page - 1) * size : page * size]
        return web.json_response(
            {
                "header": self._header(0),
                "messageSearchResultResponse": {
                    "messages": [r.list_view(now) for r in chosen],
                    "totalCount": len(records),
                },
            }
        )

    def _one(self, auth: bool) -> Any:
        async def handler(request: web.Request) -> web.Response:
            self.requests["query_one"] += 1
            await self._delay()
            denied = self._auth(request)
            if denied is not None:
                return denied
            for r in self._records.get(request.match_info["request_id"], []):
                if str(r.seq) == request.match_info["seq"] and r.auth is auth:
                    return web.json_response({"header": self._header(0), "message": r.one_view(datetime.now(KST))})
            return self._fail(-1016)

        return handler

    def _updated(self, request: web.Request) -> list[_Record] | web.Response:
        window = self._window(request, "startUpdateDate", "endUpdateDate")
        if not isinstance(window, tuple):
            return self._fail(-2027 if window == "bad" else -2001)
        auth = request.query.get("alimtalkMessageType") == "AUTH"
        now = datetime.now(KST)
        found = [r for r in self._all_records(auth) if r.final(now) and window[0] <= r.ready_at <= window[1]]
        found.sort(key=lambda r: (r.ready_at, r.request_id, r.seq))
        return found

    async def _results(self, request: web.Request) -> web.Response:
        self.requests["results"] += 1
        if request.query.get("alimtalkMessageType") == "AUTH":
            self.requests["results_auth"] += 1
        await self._delay()
        if self.outage:
            return web.Response(status=503, text="simulated outage")
        denied = self._auth(request)
        if denied is not None:
            return denied
        found = self._updated(request)
        if isinstance(found, web.Response):
            return found
        page, size = self._paging(request)
        now = datetime.now(KST)
        chosen = found[(page - 1) * size : page * size]
        return web.json_response({"header": self._header(0), "messages": [r.result_view(now) for r in chosen]})

    async def _results_count(self, request: web.Request) -> web.Response:
        self.requests["results_count"] += 1
        denied = self._auth(request)
        if denied is not None:
            return denied
        found = self._updated(request)
        if isinstance(found, web.Response):
            return found
        return web.json_response({"header": self._header(0), "totalCount": len(found)})

    # ---------------------------------------------------------------- templates
    @staticmethod
    def _template_view(template: dict[str, Any], *, one: bool) -> dict[str, Any]:
        view = {k: v for k, v in template.items() if not k.startswith("_")}
        if one:
            view = {**{k: v for k, v in view.items() if k not in ("createDate", "updateDate")}}
            view["block"], view["dormant"] = template["_block"], template["_dormant"]
            view["createDate"], view["updateDate"] = template["createDate"], template["updateDate"]
        return view

    async def _template_list(self, request: web.Request) -> web.Response:
        self.requests["templates"] += 1
        denied = self._auth(request)
        if denied is not None:
            return denied
        sender = request.match_info["sender_key"]
        found = [t for (s, _), t in sorted(self._templates.items()) if s == sender]
        status = request.query.get("templateStatus")
        if status:
            found = [t for t in found if t["status"] == status]
        page, size = self._paging(request)
        chosen = found[(page - 1) * size : page * size]
        return web.json_response(
            {
                "header": self._header(0),
                "templateListResponse": {
                    "templates": [self._template_view(t, one=False) for t in chosen],
                    "totalCount": len(found),
                },
            }
        )

    async def _template_one(self, request: web.Request) -> web.Response:
        self.requests["template"] += 1
        denied = self._auth(request)
        if denied is not None:
            return denied
        template = self._templates.get((request.match_info["sender_key"], request.match_info["template_code"]))
        if template is None:
            return self._fail(-3003)
        return web.json_response({"header": self._header(0), "templates": self._template_view(template, one=True)})

    # ---------------------------------------------------------------- webhook
    def envelope(self, event: str, hooks: list[dict[str, Any]]) -> bytes:
        """NHN's webhook envelope (webhook-envelope.curl-example.json)."""
        self._hook_counter += 1
        body = {
            "hooksId": f"{datetime.now(KST):%Y%m%d%H%M%S}{self.rng.getrandbits(48):012x}",
            "webhookConfigId": "sim-webhook",
            "productName": "KakaoTalk Bizmessage",
            "appKey": self.app_key,
            "event": event,
            "hooks": hooks,
        }
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    def webhook_body(self, records: Sequence[_Record]) -> bytes:
        hooks = []
        for r in records:
            self._hook_counter += 1
            hooks.append(r.hook(self.app_key, f"hook-{self._hook_counter:012d}", bare_date=self.hook_bare_date))
        return self.envelope("MESSAGE_RESULT_UPDATE", hooks)

    async def _post(self, body: bytes) -> bool:
        ok = await self._post_webhook(body)
        if ok:
            self.hook_bodies.append(json.loads(body))
        return ok

    async def _post_due_hooks(self) -> None:
        if self._template_hooks:
            hooks, self._template_hooks = self._template_hooks, []
            if not await self._post(self.envelope(TEMPLATE_STATUS_EVENT, hooks)):
                self._template_hooks[:0] = hooks
        now = datetime.now(KST)
        due = [r for r in self._unhooked if r.final(now)]
        if not due:
            return
        if not self.drop_hooks:
            for start in range(0, len(due), self.webhook_batch):
                chunk = due[start : start + self.webhook_batch]
                if await self._post(self.webhook_body(chunk)):
                    for r in chunk:
                        r.hooked = True
        else:
            for r in due:
                r.hooked = True
        self._unhooked = [r for r in self._unhooked if not r.hooked]


DEFAULT_PORT = 8090  # what the docs and config/simulators.toml say


def build_parser() -> argparse.ArgumentParser:
    parser = peer_parser(
        prog="gateway simulate kakao",
        description=__doc__.split("\n")[0],
        port=DEFAULT_PORT,
        app_key="sim-app-key",
        secret_key="sim-secret",
        mix="delivered=95,not_kakao_user=4,kakao_error=1",
        mix_help="result weights, e.g. delivered=9,not_kakao_user=1 (aliases or codes)",
    )
    parser.add_argument("--latency-jitter", type=float, default=0.0)
    parser.add_argument("--console-resend", action="store_true", help="NHN's console has SMS resend on")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until interrupted (``gateway simulate kakao``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = peer_settings(parser, args)
    return serve_forever(
        lambda: KakaoSimulator(**settings, latency_jitter=args.latency_jitter, console_resend=args.console_resend),
        "kakao simulator listening on {base_url} (app key {app_key})",
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
