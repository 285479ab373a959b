"""An NHN Cloud SMS API v3.0 simulator (aiohttp), for tests, benchmarks and demos.

It answers in exactly the shapes of NHN's documented examples
(``tests/contract/nhn_sms/``, transcribed from TOAST-DOCS/SMS ``ko/api-guide.md``
and ``ko/webhook.md``; the contract tests compare them key by key):

* ``POST sender/{sms|mms|ad-sms|ad-mms}``: one ``requestId`` per request,
  ``recipientSeq`` 1.. per recipient, per-recipient codes (``-2019`` bad
  number, ``-2024`` LMS/MMS abroad, scripted codes), header codes for what is
  wrong with the whole request (``-2312``/``-2313`` sender, ``-2014``/``-2015``
  body and title, ``-2023`` characters EUC-KR/CP949 cannot hold, ``-2016``
  over 1,000 recipients, ``-2004`` unknown or expired picture, ``-6003``/``-6004``
  advertising wording and 080 number);
* ``POST attachfile/binaryUpload`` (JPEG names, at most 300 KB; files expire
  after ``file_ttl`` seconds, 7 days by default);
* ``GET sender/{sms|mms}`` (``requestId`` or a create/request date window,
  ``senderGroupingKey``, ``recipientGroupingKey``, paging), ``GET
  sender/{sms|mms}/{requestId}?recipientSeq``, ``GET message-results``,
  ``GET sendNos``, ``GET blockservice/unsubscribe-nos``;
* the result webhook, ``MESSAGE_RESULT_UPDATE`` in NHN's envelope with the
  console's signature string in ``X-Toast-Webhook-Signature``; by default
  spelled as the documented example (``recipientGropuingKey``, ``_link``),
  ``webhook_spelling = "table"`` spells it as the field table.

Knobs: latency, the delay before results are final, a result mix (codes or
``delivered``, ``power_off``, ``no_subscriber``, ``spam``, ``carrier_error``,
``timeout``), per-number scripts (a send code and/or a result code), 5xx
bursts (``fail_next``), an outage switch, 429s (``throttle_next``), requests
handled but answered late (``slow_next``: a client that timed out never hears
it), and NHN's own duplicate filter (``duplicate_filter_seconds``). Where
the examples disagree with their own field tables it follows the tables: a
single MMS look-up has ``recipientSeq``, ``messageType`` and ``messageCount``
(the 2023 capture in ``mms_get.json`` still shows the retired ``mtPr``). What
the documents do not say, it does not invent: a wrong ``X-Secret-Key`` is answered
like an unknown app key (``-1000``), and every answer is HTTP 200 but for the
fault knobs. Counters (``requests``, ``recipients_received``, ``accepted``,
``uploads``, ``batch_sizes``, ``sent_bodies``, ``webhooks_delivered``) let
tests assert what reached the provider.

Serving, the fault knobs and the webhook poster are shared with the Alimtalk
simulator (:mod:`gateway.simulators._http_peer`).

``main(argv)`` runs it standalone (``gateway simulate nhn-sms --port ... --webhook-url ...``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog
from aiohttp import web

from gateway.simulators._http_peer import HttpProviderSimulator, Script, peer_parser, peer_settings, serve_forever

__all__ = ["NhnSmsSimulator", "main"]

log = structlog.get_logger("gateway.simulators.nhn_sms")

KST = timezone(timedelta(hours=9))
ALIASES = {
    "delivered": "1000",
    "power_off": "2003",
    "no_subscriber": "3001",
    "spam": "3012",
    "carrier_error": "3015",
    "timeout": "2000",
}
_NAMES = {
    "1000": "성공",
    "2003": "단말기 전원 꺼짐",
    "3001": "가입자 없음",
    "3012": "스팸",
    "3015": "전송 경로 없음",
    "2000": "전송 시간 초과",
    "E915": "중복 메시지",
}
_API_MESSAGES = {
    "0": "SUCCESS",
    "-1000": "Invalid appKey.",
    "-9996": "Only application/json Content-type is supported.",
    "-9997": "Invalid API parameters.",
    "-2001": "RecipientList can not be null.",
    "-2004": "File is expired or does not exist.",
    "-2005": "The file size must be greater than 0 and less than 300KB.",
    "-2002": "Invalid attach file name.",
    "-2003": "Attach file required jpg or jpeg.",
    "-2011": "Required parameter is missing.",
    "-2014": "Title or Body can not be empty.",
    "-2015": "Title or Body exceed maximum byte.",
    "-2016": "The max recipient size is 1000.",
    "-2019": "Invalid recipient number.",
    "-2023": "Title or body includes characters that are not allowed.",
    "-2024": "International delivery is sent with LMS/MMS.",
    "-2312": "Sender number is missing or unregistered.",
    "-2313": "Blocked Sender number.",
    "-4000": "Query range is more than a month.",
    "-6003": "Body does not include guide message on call rejection.",
    "-6004": "Call rejection numbers are empty or unsubscribed.",
}
_AD_PREFIX = re.compile(r"^\s*\(광고\)")
_AD_OPTOUT = re.compile(r"무\s*료\s*(?:수\s*신\s*)?거\s*부\s*[\]\)]?\s*[:：]?\s*(080[\d\s-]{6,12}\d)\s*\W*$")
_QUERY_DATE = "%Y-%m-%d %H:%M:%S"


def _code(name_or_code: str) -> str:
    return ALIASES.get(name_or_code, name_or_code)


def _dt(moment: datetime) -> str:
    """Query results: ``yyyy-MM-dd HH:mm:ss.S``."""
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S.") + str(moment.microsecond // 100_000)


def _hook_dt(moment: datetime) -> str:
    """The result webhook: ``yyyy-MM-dd'T'HH:mm:ss``, no offset."""
    return moment.astimezone(KST).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(slots=True)
class _Record:
    request_id: str
    seq: int
    endpoint: str
    message_type: str  # SMS | LMS | MMS
    send_no: str
    recipient_no: str
    country: str
    body: str
    title: str | None
    files: tuple[int, ...]
    sender_key: str | None
    recipient_key: str | None
    created: datetime
    code: str  # the result it will have
    ready_at: float
    updated: datetime | None = None
    hooked: bool = False

    def final(self, now: float) -> bool:
        return now >= self.ready_at

    def msg_status(self, now: float) -> tuple[str, str]:
        if not self.final(now):
            return "2", "처리 중"
        if self.code == "E915":
            return "5", "중복실패"
        return ("3", "성공") if self.code == "1000" else ("0", "실패")


@dataclass(slots=True)
class _File:
    file_id: int
    name: str
    data: bytes
    uploaded: float
    created: datetime = field(default_factory=lambda: datetime.now(KST))


def _query_header() -> dict[str, Any]:
    """Query answers list the header's fields in this order in NHN's examples (sms_list, sms_get, ...)."""
    return {"resultCode": 0, "resultMessage": "SUCCESS", "isSuccessful": True}


def _header(code: str = "0", message: str | None = None) -> dict[str, Any]:
    return {
        "isSuccessful": code == "0",
        "resultCode": int(code),
        "resultMessage": message or _API_MESSAGES.get(code, ""),
    }


def _refuse(code: str, message: str | None = None) -> web.Response:
    return web.json_response({"header": _header(code, message), "body": None})


def _cp949_ok(text: str) -> bool:
    try:
        text.encode("cp949")
    except UnicodeEncodeError:
        return False
    return True


class NhnSmsSimulator(HttpProviderSimulator):
    def __init__(
        self,
        *,
        app_key: str = "sim-sms-app-key",
        secret_key: str = "sim-sms-secret",
        host: str = "127.0.0.1",
        port: int = 0,
        send_nos: Sequence[str] = ("15446859", "15880000"),
        blocked_send_nos: Sequence[str] = (),
        optout_nos: Sequence[str] = ("0808880327", "0801234567"),
        latency: float = 0.0,
        result_delay: float = 0.0,
        result_mix: Mapping[str, float] | None = None,
        webhook_url: str | None = None,
        webhook_secret: str = "",
        webhook_spelling: str = "example",
        webhook_batch: int = 1000,
        webhook_interval: float = 0.02,
        webhook_concurrency: int = 8,
        file_ttl: float = 7 * 86400.0,
        duplicate_filter_seconds: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            app_key=app_key,
            secret_key=secret_key,
            host=host,
            port=port,
            latency=latency,
            result_delay=result_delay,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            webhook_batch=webhook_batch,
            webhook_interval=webhook_interval,
            seed=seed,
        )
        self.send_nos = {n: "N" for n in send_nos} | {n: "Y" for n in blocked_send_nos}  # number -> blockYn
        self.optout_nos = set(optout_nos)
        mix = result_mix or {"delivered": 1.0}
        self._mix_codes = [_code(k) for k in mix]
        self._mix_weights = [float(v) for v in mix.values()]
        self.webhook_spelling = webhook_spelling
        self._hook_slots = asyncio.Semaphore(webhook_concurrency)
        self.file_ttl = file_ttl
        self.duplicate_filter_seconds = duplicate_filter_seconds
        self._scripts: dict[str, Script] = {}
        self.records: list[_Record] = []
        self._by_request: dict[str, list[_Record]] = {}
        self._by_sender_key: dict[str, list[_Record]] = defaultdict(list)
        self._by_recipient_key: dict[str, list[_Record]] = defaultdict(list)
        self._pending_hooks: deque[_Record] = deque()
        self._recent: dict[tuple[Any, ...], float] = {}
        self.files: dict[int, _File] = {}
        self._file_counter = 100_000
        self._counter = 0
        # counters for tests (and requests, webhooks_delivered, webhook_failures)
        self.recipients_received = 0
        self.accepted = 0
        self.uploads = 0
        self.batch_sizes: list[int] = []
        self.sent_bodies: deque[dict[str, Any]] = deque(maxlen=50)

    # ---------------------------------------------------------------- knobs (and fail_next, throttle_next, slow_next)
    def script(self, recipient_no: str, *, send_code: str | None = None, result_code: str | None = None) -> None:
        """Fix what happens to one recipient number (NHN's form, e.g. ``01012345678``)."""
        self._scripts[recipient_no] = Script(send_code, _code(result_code) if result_code else None)

    def expire_files(self) -> None:
        """Every uploaded file is past NHN's retention from now on (-2004)."""
        for f in self.files.values():
            f.uploaded -= self.file_ttl + 1

    def accepted_for(self, recipient_key: str) -> list[_Record]:
        return list(self._by_recipient_key.get(recipient_key, ()))

    # ---------------------------------------------------------------- routes
    def _add_routes(self, app: web.Application) -> None:
        base = "/sms/v3.0/appKeys/{appkey}"
        for endpoint in ("sms", "mms", "ad-sms", "ad-mms"):
            app.router.add_post(f"{base}/sender/{endpoint}", self._send)
        app.router.add_post(base + "/attachfile/binaryUpload", self._upload)
        app.router.add_get(base + "/sender/{family:sms|mms}", self._list)
        app.router.add_get(base + "/sender/{family:sms|mms}/{request_id}", self._get_one)
        app.router.add_get(base + "/message-results", self._results)
        app.router.add_get(base + "/sendNos", self._send_nos)
        app.router.add_get(base + "/blockservice/unsubscribe-nos", self._unsubscribe_nos)

    # ---------------------------------------------------------------- common
    def _auth(self, request: web.Request) -> web.Response | None:
        if request.match_info["appkey"] != self.app_key or request.headers.get("X-Secret-Key") != self.secret_key:
            return _refuse("-1000")
        return None

    async def _json_body(self, request: web.Request) -> Any:
        if not request.headers.get("Content-Type", "").lower().startswith("application/json"):
            return _refuse("-9996")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _refuse("-9997")
        if not isinstance(body, dict):
            return _refuse("-9997")
        return body

    # ---------------------------------------------------------------- send
    async def _send(self, request: web.Request) -> web.Response:
        endpoint = request.path.rsplit("/sender/", 1)[1]
        self.requests["send"] += 1
        denied = await self._admit(request)
        if denied is not None:
            return denied
        body = await self._json_body(request)
        if isinstance(body, web.Response):
            return body
        self.sent_bodies.append(body)
        problem = self._check_send(endpoint, body)
        if problem is not None:
            self.requests[f"send_{problem}"] += 1
            return _refuse(problem)
        recipients = body["recipientList"]
        self.batch_sizes.append(len(recipients))
        mms = endpoint.endswith("mms")
        files = tuple(body.get("attachFileIdList") or ())
        message_type = ("MMS" if files else "LMS") if mms else "SMS"
        now_wall = datetime.now(KST)
        now = time.monotonic()
        self._counter += 1
        request_id = f"{now_wall:%Y%m%d%H%M%S}{self.rng.getrandbits(40):010x}{self._counter % 10}"[:25]
        results, records = [], []
        for seq, raw in enumerate(recipients, start=1):
            self.recipients_received += 1
            item = raw if isinstance(raw, dict) else {}
            number = str(item.get("recipientNo") or "")
            country = str(item.get("countryCode") or "82")
            international = str(item.get("internationalRecipientNo") or "")
            if not number and international:
                if international.startswith("82"):
                    number, country = "0" + international[2:], "82"
                else:
                    number, country = international, ""
            script = self._scripts.get(number, Script())
            key = item.get("recipientGroupingKey")
            if not number.isdigit() or not 8 <= len(number) <= 20:
                code = "-2019"
            elif mms and country != "82":
                code = "-2024"
            else:
                code = script.send_code or "0"
            if code == "0":
                self.accepted += 1
                result = script.result_code or (
                    self._mix_codes[0]
                    if len(self._mix_codes) == 1
                    else self.rng.choices(self._mix_codes, self._mix_weights)[0]
                )
                fingerprint = (message_type, body.get("sendNo"), number, body.get("title"), body.get("body"), files)
                if self.duplicate_filter_seconds:
                    seen = self._recent.get(fingerprint)
                    if seen is not None and now - seen < self.duplicate_filter_seconds:
                        result = "E915"
                    else:
                        self._recent[fingerprint] = now
                record = _Record(
                    request_id,
                    seq,
                    endpoint,
                    message_type,
                    str(body.get("sendNo")),
                    number,
                    country or "",
                    str(body.get("body")),
                    body.get("title"),
                    files,
                    body.get("senderGroupingKey"),
                    key,
                    now_wall,
                    result,
                    now + self.result_delay,
                )
                records.append(record)
            results.append(
                {
                    "recipientNo": number,
                    "resultCode": int(code),
                    "resultMessage": _API_MESSAGES.get(code, ""),
                    "recipientSeq": seq,
                    "recipientGroupingKey": key,
                }
            )
        self._by_request[request_id] = records
        for r in records:
            self.records.append(r)
            if r.sender_key:
                self._by_sender_key[r.sender_key].append(r)
            if r.recipient_key:
                self._by_recipient_key[r.recipient_key].append(r)
            self._pending_hooks.append(r)
        await self._slow_answer()  # handled: the answer comes late, or never to a client that gave up
        return web.json_response(
            {
                "header": _header(),
                "body": {
                    "data": {
                        "requestId": request_id,
                        "statusCode": "2",
                        "senderGroupingKey": body.get("senderGroupingKey"),
                        "sendResultList": results,
                    }
                },
            }
        )

    def _check_send(self, endpoint: str, body: Mapping[str, Any]) -> str | None:
        recipients = body.get("recipientList")
        if not isinstance(recipients, list) or not recipients:
            return "-2001"
        if len(recipients) > 1000:
            return "-2016"
        send_no = str(body.get("sendNo") or "")
        if send_no not in self.send_nos:
            return "-2312"
        if self.send_nos[send_no] == "Y":
            return "-2313"
        text = body.get("body")
        title = body.get("title")
        mms = endpoint.endswith("mms")
        if not isinstance(text, str) or not text or (mms and (not isinstance(title, str) or not title)):
            return "-2014"
        if (not mms and len(text) > 255) or (mms and (len(text) > 4000 or len(str(title)) > 120)):
            return "-2015"
        domestic = any(
            isinstance(r, dict)
            and (r.get("recipientNo") or str(r.get("internationalRecipientNo", "")).startswith("82"))
            for r in recipients
        )
        if domestic and (not _cp949_ok(text) or (mms and not _cp949_ok(str(title)))):
            return "-2023"
        if endpoint.startswith("ad-"):
            match = _AD_OPTOUT.search(text)
            if not _AD_PREFIX.search(text) or match is None:
                return "-6003"
            if "".join(ch for ch in match.group(1) if ch.isdigit()) not in self.optout_nos:
                return "-6004"
        files = body.get("attachFileIdList") or []
        if files:
            now = time.monotonic()
            for fid in files:
                f = self.files.get(fid) if isinstance(fid, int) else None
                if f is None or now - f.uploaded > self.file_ttl:
                    return "-2004"
        return None

    # ---------------------------------------------------------------- upload
    async def _upload(self, request: web.Request) -> web.Response:
        self.requests["upload"] += 1
        denied = self._auth(request)
        if denied is not None:
            return denied
        body = await self._json_body(request)
        if isinstance(body, web.Response):
            return body
        name = body.get("fileName")
        if not isinstance(name, str) or not name or len(name) > 45:
            return _refuse("-2002")
        if not name.lower().endswith((".jpg", ".jpeg")):
            return _refuse("-2003")
        if not body.get("createUser"):
            return _refuse("4", "createUser can not be empty.")
        try:
            data = base64.b64decode(str(body.get("fileBody") or ""), validate=True)
        except (binascii.Error, ValueError):
            return _refuse("-2005")
        if not 0 < len(data) <= 300 * 1024:
            return _refuse("-2005")
        self._file_counter += 1
        fid = self._file_counter
        self.files[fid] = _File(fid, name, data, time.monotonic())
        self.uploads += 1
        path = f"0/toast-mt-{datetime.now(KST):%Y-%m-%d/%H%M}/{fid}"
        return web.json_response(
            {"header": _header(), "body": {"data": {"fileId": fid, "fileName": name, "filePath": path}}}
        )

    # ---------------------------------------------------------------- queries
    def _view(self, r: _Record, now: float, *, single: bool = False) -> dict[str, Any]:
        final = r.final(now)
        status, status_name = r.msg_status(now)
        view: dict[str, Any] = {
            "requestId": r.request_id,
            "requestDate": _dt(r.created),
            "resultDate": _dt(r.created + timedelta(seconds=max(r.ready_at - now, 0.0) + self.result_delay))
            if final
            else None,
            "templateId": None,
            "templateName": None,
            "categoryId": None,
            "categoryName": None,
        }
        if r.message_type != "SMS":
            view["title"] = r.title
        view.update(
            {
                "body": r.body,
                "sendNo": r.send_no,
                "countryCode": r.country or "82",
                "recipientNo": r.recipient_no,
                "msgStatus": status,
                "msgStatusName": status_name,
                "resultCode": r.code if final else None,
                "resultCodeName": _NAMES.get(r.code, "실패") if final else None,
                "telecomCode": 10001 if final else None,
                "telecomCodeName": "SKT" if final else None,
                "recipientSeq": r.seq,
                "sendType": "0" if r.message_type == "SMS" else "1",
                "messageType": r.message_type,
                "messageCount": 1,
                "userId": None,
                "adYn": "Y" if r.endpoint.startswith("ad-") else "N",
            }
        )
        if single:  # the single look-up adds the origin code (and, for SMS, the DLR) to the list's fields
            view["originCode"] = "123456789"
        if r.message_type != "SMS":
            view["attachFileList"] = [
                {
                    "fileId": fid,
                    "filePath": f"/temporary/0/toast-mt-{r.created:%Y-%m-%d}/{fid}/",
                    "fileName": self.files[fid].name if fid in self.files else "attachment.jpg",
                    "saveFileName": f"{r.created:%Y%m%d}{fid}.jpg",
                    "uploadType": "TEMPORARY",
                }
                for fid in r.files
            ]
        view.update(
            {
                "resultMessage": "",
                "senderGroupingKey": r.sender_key,
                "recipientGroupingKey": r.recipient_key,
            }
        )
        if single and r.message_type == "SMS":
            delivered = final and r.code == "1000"
            view["dlr"] = {
                "dlrStatus": ("DELIVERED" if delivered else "FAILED") if final else "ACCEPTED",
                "networkCode": None,
                "errorCode": ("0" if delivered else "1") if final else None,
            }
        return view

    @staticmethod
    def _window(query: Mapping[str, str], start_name: str, end_name: str) -> tuple[datetime, datetime] | str | None:
        start, end = query.get(start_name), query.get(end_name)
        if not start or not end:
            return None
        try:
            a = datetime.strptime(start, _QUERY_DATE).replace(tzinfo=KST)
            b = datetime.strptime(end, _QUERY_DATE).replace(tzinfo=KST)
        except ValueError:
            return "-2000"
        return a, b

    @staticmethod
    def _paged(items: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
        page = max(1, int(query.get("pageNum", "1") or 1))
        size = max(1, min(1000, int(query.get("pageSize", "15") or 15)))
        chosen = items[(page - 1) * size : page * size]
        return {
            "header": _query_header(),
            "body": {"pageNum": page, "pageSize": size, "totalCount": len(items), "data": chosen},
        }

    async def _list(self, request: web.Request) -> web.Response:
        self.requests["list"] += 1
        denied = self._auth(request)
        if denied is not None:
            return denied
        q = request.query
        family = request.match_info["family"]
        records: list[_Record]
        if q.get("requestId"):
            records = list(self._by_request.get(q["requestId"], []))
        else:
            window = self._window(q, "startCreateDate", "endCreateDate") or self._window(
                q, "startRequestDate", "endRequestDate"
            )
            if window is None:
                return _refuse("-2011")
            if isinstance(window, str):
                return _refuse(window)
            if window[1] - window[0] > timedelta(days=31):
                return _refuse("-4000")
            if q.get("senderGroupingKey"):
                records = list(self._by_sender_key.get(q["senderGroupingKey"], []))
            elif q.get("recipientGroupingKey"):
                records = list(self._by_recipient_key.get(q["recipientGroupingKey"], []))
            else:
                records = list(self.records)
            records = [r for r in records if window[0] <= r.created.replace(microsecond=0) <= window[1]]
        if q.get("recipientGroupingKey"):
            records = [r for r in records if r.recipient_key == q["recipientGroupingKey"]]
        records = [r for r in records if (r.message_type == "SMS") == (family == "sms")]
        now = time.monotonic()
        return web.json_response(self._paged([self._view(r, now) for r in records], q))

    async def _get_one(self, request: web.Request) -> web.Response:
        self.requests["get"] += 1
        denied = self._auth(request)
        if denied is not None:
            return denied
        seq = request.query.get("recipientSeq", "")
        for r in self._by_request.get(request.match_info["request_id"], []):
            if str(r.seq) == seq:
                view = self._view(r, time.monotonic(), single=True)
                return web.json_response({"header": _query_header(), "body": {"data": view}})
        return _refuse("-2012" if seq else "-2011", "Invalid requestId or recipientSeq.")

    async def _results(self, request: web.Request) -> web.Response:
        self.requests["results"] += 1
        denied = self._auth(request)
        if denied is not None:
            return denied
        q = request.query
        window = self._window(q, "startUpdateDate", "endUpdateDate")
        if window is None:
            return _refuse("-2011")
        if isinstance(window, str):
            return _refuse(window)
        if window[1] - window[0] > timedelta(days=1):
            return _refuse("-1005", "Service parameter is invalid.")
        now = time.monotonic()
        stamp = datetime.now(KST)
        start, end = window[0], window[1] + timedelta(seconds=1)
        kind = q.get("messageType")
        found = []
        for r in self.records:
            if not r.final(now):
                continue
            if r.updated is None:
                r.updated = stamp
            if start <= r.updated < end and (not kind or kind == r.message_type):
                found.append(r)
        page = max(1, int(q.get("pageNum", "1") or 1))
        size = max(1, min(1000, int(q.get("pageSize", "15") or 15)))
        items = [
            {
                "messageType": r.message_type,
                "requestId": r.request_id,
                "recipientSeq": r.seq,
                "resultCode": r.code,
                "resultCodeName": _NAMES.get(r.code, "실패"),
                "requestDate": _dt(r.created),
                "resultDate": _dt(r.updated),  # type: ignore[arg-type]
                "updateDate": _dt(r.updated),  # type: ignore[arg-type]
                "telecomCode": "10001",
                "telecomCodeName": "SKT",
                "senderGroupingKey": r.sender_key,
                "recipientGroupingKey": r.recipient_key,
            }
            for r in found[(page - 1) * size : page * size]
        ]
        return web.json_response(
            {
                "header": _query_header(),
                "body": {"pageNum": page, "pageSize": size, "totalCount": len(found), "data": items},
            }
        )

    async def _send_nos(self, request: web.Request) -> web.Response:
        self.requests["sendNos"] += 1
        denied = self._auth(request)
        if denied is not None:
            return denied
        items = [
            {
                "appKey": None,
                "serviceId": 71191,
                "sendNo": number,
                "useYn": "Y",
                "blockYn": blocked,
                "blockReason": "simulated" if blocked == "Y" else None,
                "createDate": "2023-07-18 12:05:35",
                "createUser": "simulator@example.invalid",
                "updateDate": "2023-07-31 13:45:48",
                "updateUser": None,
            }
            for number, blocked in self.send_nos.items()
        ]
        page = self._paged(items, request.query)
        page["header"] = _header()  # sendNos' example lists isSuccessful first
        return web.json_response(page)

    async def _unsubscribe_nos(self, request: web.Request) -> web.Response:
        self.requests["unsubscribe-nos"] += 1
        denied = self._auth(request)
        if denied is not None:
            return denied
        items = [
            {
                "unsubscribeNo": number,
                "enterpriseName": "시뮬레이터",
                "requestDateTime": "2025-01-01 00:00:00",
                "startDateTime": "2025-01-01 00:00:00",
                "status": "USED",
                "shareType": "MASTER",
            }
            for number in sorted(self.optout_nos)
        ]
        return web.json_response(self._paged(items, request.query))

    # ---------------------------------------------------------------- webhook
    def hook_item(self, r: _Record, received: str | None = None) -> dict[str, Any]:
        self_href = (
            f"https://sms.api.nhncloudservice.com/sms/v2.4/appKeys/{{appKey}}/sender/"
            f"{'sms' if r.message_type == 'SMS' else 'mms'}/{r.request_id}?recipientSeq={r.seq}"
        )
        status = "COMPLETED" if r.code == "1000" else ("DUPLICATED" if r.code == "E915" else "FAILED")
        item: dict[str, Any] = {
            "hookId": f"{r.request_id[:14]}{r.seq:05d}{self.rng.getrandbits(24):06x}",
            "senderType": "NORMAL_SMS",
            "requestId": r.request_id,
            "recipientSeq": r.seq,
            "requestDate": _hook_dt(r.created),
            "receiveDate": received or _hook_dt(datetime.now(KST)),
            "sendNo": r.send_no,
            "recipientNo": r.recipient_no,
            "messageStatus": status,
        }
        if self.webhook_spelling == "example":
            item["recipientGropuingKey"] = r.recipient_key
        else:
            item["recipientGroupingKey"] = r.recipient_key
        item.update({"senderGroupingKey": r.sender_key, "resultCode": r.code, "messageCount": 1})
        if self.webhook_spelling == "example":
            item["_link"] = {"self": {"href": self_href}}
        else:
            item["_links"] = {"self": {"href": self_href}}
        return item

    def webhook_body(self, records: Sequence[_Record]) -> bytes:
        received = _hook_dt(datetime.now(KST))
        envelope = {
            "hooksId": f"{datetime.now(KST):%Y%m%d%H%M%S}{self.rng.getrandbits(48):012x}",
            "webhookConfigId": "sim",
            "productName": "SMS",
            "appKey": self.app_key,
            "event": "MESSAGE_RESULT_UPDATE",
            "hooks": [self.hook_item(r, received) for r in records],
        }
        return json.dumps(envelope, ensure_ascii=False).encode("utf-8")

    async def _post_due_hooks(self) -> None:
        if not self._pending_hooks:
            return
        now = time.monotonic()
        due: list[_Record] = []
        keep: deque[_Record] = deque()
        while self._pending_hooks:
            r = self._pending_hooks.popleft()
            (due if r.final(now) else keep).append(r)
        self._pending_hooks = keep
        chunks = [due[i : i + self.webhook_batch] for i in range(0, len(due), self.webhook_batch)]
        # NHN posts from many workers; so does the simulator (at most webhook_concurrency at once)
        await asyncio.gather(*(self._post_hooks(chunk) for chunk in chunks))

    async def _post_hooks(self, chunk: list[_Record]) -> None:
        async with self._hook_slots:
            stamp = datetime.now(KST)
            for r in chunk:
                if r.updated is None:
                    r.updated = stamp
            ok = await self._post_webhook(self.webhook_body(chunk))
        if ok:
            for r in chunk:
                r.hooked = True
        else:  # NHN documents no retries; the simulator tries again, as a kind peer would
            self._pending_hooks.extend(chunk)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until interrupted (``gateway simulate nhn-sms``)."""
    parser = peer_parser(
        prog="gateway simulate nhn-sms",
        description=(__doc__ or "").split("\n")[0],
        port=8091,
        app_key="sim-sms-app-key",
        secret_key="sim-sms-secret",
        mix="delivered=96,power_off=2,no_subscriber=1,carrier_error=1",
    )
    parser.add_argument("--send-no", action="append", default=None, help="a registered sender number (repeatable)")
    args = parser.parse_args(argv)
    settings = peer_settings(parser, args)
    return serve_forever(
        lambda: NhnSmsSimulator(**settings, send_nos=tuple(args.send_no or ("15446859", "15880000"))),
        "NHN SMS simulator listening on {base_url} (app key {app_key})",
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
