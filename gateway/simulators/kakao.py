"""An NHN Cloud Alimtalk v2.3 provider simulator (aiohttp), for tests, benchmarks and demos.

It speaks the part of the API the connector uses (``gateway.kakao.nhn``):
``POST .../raw-messages``, ``GET .../messages?requestId=``, ``GET
.../messages/{requestId}/{recipientSeq}``, with ``X-Secret-Key`` auth and the
``X-NC-API-IDEMPOTENCY-KEY`` 10-minute duplicate check, and delivers results to
a webhook URL in NHN's envelope, signed with the gateway's HMAC scheme or
NHN's static token (see ``gateway.kakao.webhook``).

Knobs: latency (+ jitter), the delay before results are final, a result mix
(weights by code or alias: ``delivered``, ``not_kakao_user``, ``cannot_send``,
``blocked_alimtalk``, ``invalid_number``, ``ack_timeout``, ``kakao_error``,
``template_mismatch``), per-recipient scripts (a synchronous code and/or a
delivery code for one number), bursts of 5xx (``fail_next``), an outage
switch (``outage = True``), 429s (``throttle_next``) and late answers to
handled requests (``slow_next``: a client that timed out never hears them).
Counters (``requests``, ``recipients_received``, ``accepted``, ``batch_sizes``,
``idempotency_keys``, ``sent_bodies``, ``webhooks_delivered``) let tests
assert what reached the provider.

    async with KakaoSimulator(result_mix={"delivered": 9, "not_kakao_user": 1}) as sim:
        config = KakaoConnectorConfig(..., base_url=sim.base_url, app_key=sim.app_key, ...)

``main(argv)`` runs it standalone (``gateway simulate kakao --port ... --webhook-url ...``, or
``python -m gateway.simulators.kakao``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from gateway.kakao.webhook import sign_body

__all__ = ["KakaoSimulator", "main"]

log = structlog.get_logger("gateway.simulators.kakao")

KST = timezone(timedelta(hours=9))
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
_MESSAGES = {
    "0": "SUCCESS",
    "1000": "success",
    "3019": "not a KakaoTalk user",
    "3018": "cannot send",
    "3020": "user blocked Alimtalk",
    "3008": "invalid phone number",
    "3005": "ack timeout",
    "9999": "system error",
    "3016": "template mismatch",
    "-2019": "content over 1000 characters",
    "-1027": "The sender is blocked status.",
}


@dataclass(slots=True)
class _Record:
    request_id: str
    seq: int
    recipient_no: str
    grouping_key: str | None
    sender_key: str
    template_code: str
    code: str
    ready_at: float
    delivered: bool = False

    def view(self, now: float) -> dict[str, Any]:
        final = now >= self.ready_at
        status = ("COMPLETED" if self.code == "1000" else "FAILED") if final else "READY"
        return {
            "requestId": self.request_id,
            "recipientSeq": self.seq,
            "recipientNo": self.recipient_no,
            "senderKey": self.sender_key,
            "templateCode": self.template_code,
            "messageStatus": status,
            "resultCode": self.code if final else None,
            "resultCodeName": _MESSAGES.get(self.code, "") if final else None,
            "receiveDate": datetime.now(KST).strftime("%Y-%m-%d %H:%M:%S") if final else None,
            "resendStatus": "RSC01",
            "recipientGroupingKey": self.grouping_key,
        }


@dataclass(frozen=True, slots=True)
class _Script:
    send_code: str | None = None
    result_code: str | None = None


def _code(name_or_code: str) -> str:
    return ALIASES.get(name_or_code, name_or_code)


class KakaoSimulator:
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
        webhook_auth: str = "hmac",
        webhook_secret: str = "",
        webhook_header: str | None = None,
        webhook_batch: int = 500,
        webhook_interval: float = 0.02,
        max_recipients: int = 1000,
        seed: int | None = None,
    ) -> None:
        self.app_key = app_key
        self.secret_key = secret_key
        self.host = host
        self.port = port
        self.latency = latency
        self.latency_jitter = latency_jitter
        self.result_delay = result_delay
        mix = result_mix or {"delivered": 1.0}
        self._mix_codes = [_code(k) for k in mix]
        self._mix_weights = [float(v) for v in mix.values()]
        self.webhook_url = webhook_url
        self.webhook_auth = webhook_auth
        self.webhook_secret = webhook_secret
        self.webhook_header = webhook_header or (
            "X-Webhook-Signature" if webhook_auth == "hmac" else "X-Toast-Webhook-Signature"
        )
        self.webhook_batch = webhook_batch
        self.webhook_interval = webhook_interval
        self.max_recipients = max_recipients
        self.rng = random.Random(seed)
        self.outage = False
        self._fail_next: list[int] = []
        self._throttle_next: list[float] = []
        self._slow_next: list[float] = []
        self._scripts: dict[str, _Script] = {}
        self._records: dict[str, list[_Record]] = {}
        self._pending_hooks: list[_Record] = []
        self._idempotency: dict[str, float] = {}
        self._counter = 0
        # counters for tests
        self.requests: Counter[str] = Counter()
        self.recipients_received = 0
        self.accepted = 0
        self.batch_sizes: list[int] = []
        self.idempotency_keys: list[str] = []
        self.sent_bodies: deque[dict[str, Any]] = deque(maxlen=20)  # the last send request bodies
        self.webhooks_delivered = 0
        self.webhook_failures = 0
        self._runner: web.AppRunner | None = None
        self._hook_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""

    # ---------------------------------------------------------------- knobs
    def fail_next(self, n: int, status: int = 503) -> None:
        """The next ``n`` send requests answer ``status`` (a 5xx burst)."""
        self._fail_next.extend([status] * n)

    def throttle_next(self, n: int, retry_after: float = 1.0) -> None:
        """The next ``n`` send requests answer 429 with ``Retry-After``."""
        self._throttle_next.extend([retry_after] * n)

    def slow_next(self, n: int, delay: float) -> None:
        """The next ``n`` send requests are handled, then answered ``delay`` seconds late."""
        self._slow_next.extend([delay] * n)

    def script(self, recipient_no: str, *, send_code: str | None = None, result_code: str | None = None) -> None:
        """Fix what happens to one recipient number (codes or aliases)."""
        self._scripts[recipient_no] = _Script(
            _code(send_code) if send_code else None, _code(result_code) if result_code else None
        )

    def records(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [r.view(now) for recs in self._records.values() for r in recs]

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        base = "/alimtalk/v2.3/appkeys/{appkey}"
        app.router.add_post(base + "/raw-messages", self._send)
        app.router.add_get(base + "/messages", self._query)
        app.router.add_get(base + "/messages/{request_id}/{seq}", self._query_one)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.base_url = f"http://{self.host}:{self.port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._hook_task = asyncio.ensure_future(self._deliver_hooks())
        return self.base_url

    async def close(self) -> None:
        if self._hook_task is not None:
            self._hook_task.cancel()
            try:
                await self._hook_task
            except asyncio.CancelledError:
                pass
            self._hook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> KakaoSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---------------------------------------------------------------- handlers
    @staticmethod
    def _header(ok: bool, code: int, message: str) -> dict[str, Any]:
        return {"isSuccessful": ok, "resultCode": code, "resultMessage": message}

    def _error(self, status: int, code: int, message: str) -> web.Response:
        return web.json_response({"header": self._header(False, code, message)}, status=status)

    async def _delay(self) -> None:
        """Latency before the request is handled (the provider is slow to take it)."""
        delay = self.latency + (self.rng.uniform(0, self.latency_jitter) if self.latency_jitter else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _slow_answer(self) -> None:
        """``slow_next``: the request was handled, the answer comes late (or never reaches a
        client that timed out)."""
        if self._slow_next:
            await asyncio.sleep(self._slow_next.pop(0))

    def _auth(self, request: web.Request) -> web.Response | None:
        if request.match_info["appkey"] != self.app_key:
            return self._error(401, -1000, "Invalid appKey.")
        if request.headers.get("X-Secret-Key") != self.secret_key:
            return self._error(401, -1001, "Invalid secretKey.")
        return None

    async def _send(self, request: web.Request) -> web.Response:
        self.requests["send"] += 1
        raw = await request.read()
        await self._delay()
        if self.outage or self._fail_next:
            status = self._fail_next.pop(0) if self._fail_next else 503
            self.requests[f"send_{status}"] += 1
            return web.Response(status=status, text="simulated outage")
        if self._throttle_next:
            retry_after = self._throttle_next.pop(0)
            self.requests["send_429"] += 1
            return web.Response(status=429, text="slow down", headers={"Retry-After": f"{retry_after:g}"})
        denied = self._auth(request)
        if denied is not None:
            return denied
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(400, 4, "request body is not JSON")
        if isinstance(body, dict):
            self.sent_bodies.append(body)
        key = request.headers.get("X-NC-API-IDEMPOTENCY-KEY")
        now = time.monotonic()
        if key:
            self.idempotency_keys.append(key)
            seen = self._idempotency.get(key)
            if seen is not None and now - seen < 600:
                return web.json_response(
                    {
                        "header": self._header(
                            False, -1005, "The same 'X-NC-API-IDEMPOTENCY-KEY' was used within the last 10 minute."
                        )
                    }
                )
            self._idempotency[key] = now
        if not isinstance(body, dict):
            return self._error(400, 4, "request body is not a JSON object")
        sender_key, template_code = body.get("senderKey"), body.get("templateCode")
        recipients = body.get("recipientList")
        if not sender_key or not template_code:
            return web.json_response({"header": self._header(False, -2001, "The 'senderKey' must not be blank.")})
        if not isinstance(recipients, list) or not 1 <= len(recipients) <= self.max_recipients:
            return web.json_response(
                {
                    "header": self._header(
                        False, -2004, f"The 'recipientList' must be between 1 and {self.max_recipients}."
                    )
                }
            )
        self.batch_sizes.append(len(recipients))
        self._counter += 1
        request_id = f"{datetime.now(KST):%Y%m%d%H%M%S}{self.rng.getrandbits(32):08x}{self._counter}"
        results, records = [], []
        for seq, item in enumerate(recipients, start=1):
            self.recipients_received += 1
            number = str(item.get("recipientNo", ""))
            content = item.get("content")
            script = self._scripts.get(number, _Script())
            if not isinstance(content, str) or not content:
                code = "-2001"
            elif len(content) > 1000:
                code = "-2019"
            else:
                code = script.send_code or "0"
            if code == "0":
                self.accepted += 1
                result = script.result_code or self.rng.choices(self._mix_codes, self._mix_weights)[0]
                records.append(
                    _Record(
                        request_id,
                        seq,
                        number,
                        item.get("recipientGroupingKey"),
                        sender_key,
                        template_code,
                        result,
                        now + self.result_delay,
                    )
                )
            results.append(
                {
                    "recipientSeq": seq,
                    "recipientNo": number,
                    "resultCode": int(code) if code.lstrip("-").isdigit() else code,
                    "resultMessage": _MESSAGES.get(code, ""),
                    "recipientGroupingKey": item.get("recipientGroupingKey"),
                }
            )
        self._records[request_id] = records
        if self.webhook_url:  # may be set after start(); results of earlier sends are not delivered
            self._pending_hooks.extend(records)
        ok = bool(records)
        header = self._header(True, 0, "SUCCESS") if ok else self._header(False, -2999, "All recipients failed.")
        await self._slow_answer()
        return web.json_response({"header": header, "message": {"requestId": request_id, "sendResults": results}})

    async def _query(self, request: web.Request) -> web.Response:
        self.requests["query"] += 1
        await self._delay()
        if self.outage:
            return web.Response(status=503, text="simulated outage")
        denied = self._auth(request)
        if denied is not None:
            return denied
        request_id = request.query.get("requestId", "")
        records = self._records.get(request_id)
        if records is None:
            return web.json_response({"header": self._header(False, -2028, "Invalid request ID.")})
        page = max(1, int(request.query.get("pageNum", "1")))
        size = max(1, min(1000, int(request.query.get("pageSize", "15"))))
        now = time.monotonic()
        chosen = records[(page - 1) * size : page * size]
        return web.json_response(
            {
                "header": self._header(True, 0, "SUCCESS"),
                "messageSearchResultResponse": {"messages": [r.view(now) for r in chosen], "totalCount": len(records)},
            }
        )

    async def _query_one(self, request: web.Request) -> web.Response:
        self.requests["query_one"] += 1
        await self._delay()
        denied = self._auth(request)
        if denied is not None:
            return denied
        records = self._records.get(request.match_info["request_id"], [])
        seq = request.match_info["seq"]
        for r in records:
            if str(r.seq) == seq:
                return web.json_response(
                    {"header": self._header(True, 0, "SUCCESS"), "message": r.view(time.monotonic())}
                )
        return self._error(404, -1016, "Message is not found.")

    # ---------------------------------------------------------------- webhook
    def webhook_body(self, records: Sequence[_Record]) -> bytes:
        now = time.monotonic()
        envelope = {
            "hooksId": f"hooks-{self.rng.getrandbits(48):012x}",
            "webhookConfigId": "sim",
            "productName": "KakaoTalk Bizmessage",
            "appKey": self.app_key,
            "event": "MESSAGE_RESULT_UPDATE",
            "hooks": [{"hookId": f"{r.request_id}-{r.seq}", **r.view(max(now, r.ready_at))} for r in records],
        }
        return json.dumps(envelope, ensure_ascii=False).encode("utf-8")

    def webhook_headers(self, body: bytes) -> dict[str, str]:
        value = sign_body(self.webhook_secret, body) if self.webhook_auth == "hmac" else self.webhook_secret
        return {"Content-Type": "application/json;charset=UTF-8", self.webhook_header: value}

    async def _deliver_hooks(self) -> None:
        assert self._session is not None
        while True:
            await asyncio.sleep(self.webhook_interval)
            if not self.webhook_url:
                continue
            now = time.monotonic()
            due = [r for r in self._pending_hooks if r.ready_at <= now]
            if not due:
                continue
            for start in range(0, len(due), self.webhook_batch):
                chunk = due[start : start + self.webhook_batch]
                body = self.webhook_body(chunk)
                try:
                    async with self._session.post(
                        self.webhook_url, data=body, headers=self.webhook_headers(body)
                    ) as resp:
                        ok = 200 <= resp.status < 300
                except (TimeoutError, aiohttp.ClientError, OSError):
                    ok = False
                if ok:
                    self.webhooks_delivered += 1
                    for r in chunk:
                        r.delivered = True
                else:
                    self.webhook_failures += 1
            self._pending_hooks = [r for r in self._pending_hooks if not r.delivered]


def _parse_mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in text.split(","):
        if part.strip():
            name, _, weight = part.partition("=")
            mix[name.strip()] = float(weight or 1)
    return mix


DEFAULT_PORT = 8090  # what the docs and config/simulators.toml say


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway simulate kakao", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--app-key", default="sim-app-key")
    parser.add_argument("--secret-key", default="sim-secret")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--latency-jitter", type=float, default=0.0)
    parser.add_argument("--result-delay", type=float, default=1.0, help="seconds until a result is final")
    parser.add_argument(
        "--mix",
        default="delivered=95,not_kakao_user=4,kakao_error=1",
        help="result weights, e.g. delivered=9,not_kakao_user=1 (aliases or codes)",
    )
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-auth", choices=("hmac", "token"), default="hmac")
    parser.add_argument("--webhook-secret", default="")
    parser.add_argument("--seed", type=int, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until interrupted (``gateway simulate kakao``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.webhook_url and not args.webhook_secret:
        parser.error("--webhook-url needs --webhook-secret")

    async def serve() -> None:
        sim = KakaoSimulator(
            app_key=args.app_key,
            secret_key=args.secret_key,
            host=args.host,
            port=args.port,
            latency=args.latency,
            latency_jitter=args.latency_jitter,
            result_delay=args.result_delay,
            result_mix=_parse_mix(args.mix),
            webhook_url=args.webhook_url,
            webhook_auth=args.webhook_auth,
            webhook_secret=args.webhook_secret,
            seed=args.seed,
        )
        async with sim:
            print(f"kakao simulator listening on {sim.base_url} (app key {sim.app_key})", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
