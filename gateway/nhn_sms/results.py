"""Delivery results: by webhook and by sweeping ``message-results``, into stored receipts.

The carrier id of a message is its ``recipientGroupingKey`` (chosen before the
first try, the same for every attempt), so every result path — the webhook,
the sweep, a look-up after a lost answer — matches it even when the send
answer never arrived. Results for keys without this connector's prefix (sends
from NHN's console or another system on the same app key) are ignored.

What a result means (``codes.json`` ``_rules.precedence``): ``resultCode``
decides when present (``1000`` delivered, else its class, see
:mod:`gateway.nhn_sms.codes`); without one, ``msgStatus``/``messageStatus``
decide only for cancelled (4 / CANCEL: FAILED), duplicate (5 / DUPLICATED:
dropped) and advertising-restricted (6 / FAILED_AD: FAILED, retryable);
everything else is not final yet. ``E915`` (NHN's duplicate filter refused a
resend) is dropped: the first copy's result decides.

Receipts are written with ``await sink.store_receipts`` before the webhook
answers 200. A bounded memory of (key, code) drops repeats (NHN documents no
webhook retry policy; the sweep overlaps the webhook on purpose); beyond it,
repeats are harmless because the engine applies one final receipt per id.

The sweep (``GET message-results``, windows of at most one day as NHN
requires) runs in every mode: the webhook has no documented retries, and
without it (``results = "sweep"``) it is the only source.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import structlog
from aiohttp import web

from gateway.errors import GatewayError
from gateway.httpclient import ProviderError, ProviderProtocolError, read_limited, token_matches
from gateway.nhn_sms import metrics
from gateway.nhn_sms.adapter import NhnSmsAdapter
from gateway.nhn_sms.api import NhnRecord, NhnSmsApi
from gateway.nhn_sms.codes import CodeClass, classify_delivery
from gateway.nhn_sms.config import NhnSmsConnectorConfig
from gateway.port import Receipt, ReceiptState, ResultSink

__all__ = ["ResultTracker", "receipt_for", "webhook_handler"]

log = structlog.get_logger("gateway.nhn_sms")

SIGNATURE_HEADER = "X-Toast-Webhook-Signature"
_CANCELLED = {"4", "CANCEL"}
_DUPLICATE = {"5", "DUPLICATED"}
_AD_RESTRICTED = {"6", "FAILED_AD"}
_FAILED_NO_CODE = {"0", "FAILED"}


def receipt_for(connector: str, record: NhnRecord) -> Receipt | None:
    """The receipt a result means, or None (not final yet, or a duplicate to drop)."""
    key = record.grouping_key
    if key is None:
        return None
    status = record.msg_status or record.message_status or ""
    detail: dict[str, Any] = {"request_id": record.request_id, "recipient_seq": record.recipient_seq}
    if record.message_type:
        detail["message_type"] = record.message_type.lower()
    if record.telecom:
        detail["telecom"] = record.telecom
    if record.message_count is not None:
        detail["message_count"] = record.message_count
    code = record.result_code
    if code is not None:
        info = classify_delivery(code)
        detail.update(provider_code=code, **{"class": info.cls.value})
        if info.cls is CodeClass.DUPLICATE:
            return None
        if info.cls is CodeClass.DELIVERED:
            state = ReceiptState.DELIVERED
        elif info.cls is CodeClass.UNDELIVERABLE:
            state = ReceiptState.EXPIRED if info.expired else ReceiptState.UNDELIVERABLE
        elif info.cls is CodeClass.FAILED:
            state = ReceiptState.FAILED
        elif info.known:  # a documented transient failure: final at NHN, worth a resend upstream
            state = ReceiptState.FAILED
            detail["retryable"] = True
        else:  # never permanent: final but upgradeable
            state = ReceiptState.UNKNOWN
            detail["unknown_code"] = True
        return Receipt(connector, key, state, code=code, done_at=record.done_at, detail=detail)
    if status in _DUPLICATE:
        return None
    if status in _CANCELLED:
        return Receipt(
            connector, key, ReceiptState.FAILED, code=f"status_{status}", done_at=record.done_at, detail=detail
        )
    if status in _AD_RESTRICTED or status in _FAILED_NO_CODE:
        detail["retryable"] = True
        return Receipt(
            connector, key, ReceiptState.FAILED, code=f"status_{status}", done_at=record.done_at, detail=detail
        )
    return None


class ResultTracker:
    def __init__(
        self,
        *,
        config: NhnSmsConnectorConfig,
        adapter: NhnSmsAdapter,
        may_query: Callable[[], bool] = lambda: True,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
        seen_limit: int = 200_000,
    ) -> None:
        self.config = config
        self.name = config.name
        self.adapter = adapter
        self.may_query = may_query
        self.sleep = sleep
        self.wallclock = wallclock
        self.prefix = f"{config.key_prefix}-"
        self.sink: ResultSink | None = None
        self._seen: OrderedDict[tuple[str, str | None], None] = OrderedDict()
        self._seen_limit = seen_limit
        self.cursor: datetime | None = None
        self.foreign = 0

    async def deliver(self, records: Iterable[NhnRecord], *, source: str) -> int:
        """Store the final results not stored yet; the number of receipts written."""
        fresh: dict[str, Receipt] = {}
        for record in records:
            key = record.grouping_key
            if key is None or not key.startswith(self.prefix):
                self.foreign += 1
                continue
            receipt = receipt_for(self.name, record)
            if receipt is None or (key, receipt.code) in self._seen:
                continue
            fresh[key] = receipt
        if not fresh:
            return 0
        if self.sink is None:
            raise RuntimeError("ResultTracker.deliver before the connector runs")
        await self.sink.store_receipts(list(fresh.values()))
        for r in fresh.values():
            self._seen[(r.carrier_id, r.code)] = None
        while len(self._seen) > self._seen_limit:
            self._seen.popitem(last=False)
        return len(fresh)

    async def sweep_once(self) -> int:
        """Ask message-results for what changed since the cursor (minus an overlap); store it."""
        c = self.config
        now = self.wallclock()
        end = now - timedelta(seconds=5)
        start = (self.cursor or now - timedelta(seconds=c.sweep_lookback_seconds)) - timedelta(
            seconds=c.sweep_overlap_seconds
        )
        stored = 0
        while start < end:
            stop = min(start + timedelta(days=1) - timedelta(seconds=1), end)
            try:
                records = await self.adapter.results(start, stop)
            except ProviderError as exc:
                metrics.REQUESTS.labels(self.name, "results", "error").inc()
                log.warning("nhn_sms.sweep.failed", connector=self.name, error=str(exc))
                return stored
            metrics.REQUESTS.labels(self.name, "results", "ok").inc()
            stored += await self.deliver(records, source="sweep")
            self.cursor = stop
            start = stop
        return stored

    async def sweep_loop(self) -> None:
        while True:
            await self.sleep(self.config.sweep_interval_seconds)
            if not self.may_query():
                continue
            try:
                await self.sweep_once()
            except GatewayError as exc:  # the sink could not store: the next sweep overlaps
                log.error("nhn_sms.sweep.store_failed", connector=self.name, error=str(exc))


def webhook_handler(
    *, config: NhnSmsConnectorConfig, tracker: ResultTracker
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``POST /reports/{connector}/results``: NHN's result webhook.

    NHN sends the signature typed in its console in ``X-Toast-Webhook-Signature``
    (a static token, compared in constant time with ``webhook_secret``). Answers:
    401 missing or wrong token, 413 body too large, 400 not NHN's envelope, 503
    when not running or the receipts cannot be stored, 200 only after they are.
    ``UNSUBSCRIBE`` hooks are logged and counted, not stored (see the report of
    issue 16); other events are acknowledged."""
    name = config.name
    secret = config.webhook_secret.get_secret_value() if config.webhook_secret else ""

    def answer(status: int, label: str, message: str) -> web.Response:
        metrics.WEBHOOKS.labels(name, label).inc()
        if status >= 400:
            log.warning("nhn_sms.webhook.rejected", connector=name, status=status, problem=message)
        return web.json_response({"ok": status < 300, "message": message}, status=status)

    async def handle(request: web.Request) -> web.Response:
        if tracker.sink is None:
            return answer(503, "not_ready", "connector not running")
        if not token_matches(secret, request.headers.get(SIGNATURE_HEADER)):
            return answer(401, "unauthorized", f"missing or wrong {SIGNATURE_HEADER}")
        limit = min(config.webhook_max_body_bytes, request.client_max_size)
        body = await read_limited(request, limit)
        if body is None:
            return answer(413, "too_large", f"body over {limit} bytes")
        try:
            hook = NhnSmsApi.parse_webhook(body)
        except ProviderProtocolError as exc:
            return answer(400, "bad_request", str(exc))
        stored = 0
        if hook.results:
            try:
                stored = await tracker.deliver(hook.results, source="webhook")
            except GatewayError as exc:
                log.error("nhn_sms.webhook.store_failed", connector=name, error=str(exc))
                return answer(503, "not_ready", "cannot store the results now")
        for u in hook.unsubscribes:
            log.info("nhn_sms.webhook.unsubscribe", connector=name, unsubscribe_no=u.unsubscribe_no)
        metrics.WEBHOOKS.labels(name, "ok").inc()
        return web.json_response({"ok": True, "event": hook.event, "received": len(hook.results), "stored": stored})

    return handle
