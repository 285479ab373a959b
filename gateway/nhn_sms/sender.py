"""Sending one batch: one HTTP try, a lookup instead of a blind resend, outcomes.

NHN's SMS API has no idempotency key, so a request must never be repeated
when it may have been taken. ``BatchSender.dispatch`` therefore:

* looks up, before sending, every message whose earlier attempt may have
  reached NHN (``OutboundMessage.may_be_duplicate``): ``GET sender/{sms|mms}``
  filtered by its ``recipientGroupingKey`` (``{key_prefix}-{message id}``, the
  same for every attempt). Found: SUBMITTED under that key, nothing is sent
  ("resumed"); not found: it goes out;
* makes exactly one HTTP try per attempt. A failure before the request left
  (connection refused) is RETRY. A failure after it may have left (timeout,
  reset, 5xx, an unreadable answer, ``-9999``/``-2021``, ``statusCode "3"``, a
  recipient missing from the answer) is *ambiguous*: after
  ``reconcile_grace_seconds`` the batch is looked up by its
  ``senderGroupingKey`` (one per try), up to ``reconcile_tries`` times; what is
  found is SUBMITTED, what the answer proves was not taken is RETRY, and the
  rest is UNKNOWN with ``retry_after`` ≥ the grace (the engine may resend it;
  the lookup above then finds a late copy first);
* a whole-request refusal that blames the message (scope ``message``) on a
  batch of several is resent one message at a time before anything fails,
  since NHN does not say which message caused it;
* ``-2004`` (picture expired at NHN): the pictures are uploaded again and the
  request, refused as a whole, is sent once more;
* breaker open: nothing is sent; the messages are parked (RETRY with ``retry_after``).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import structlog

from gateway.httpclient import (
    BreakerState,
    CircuitBreaker,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
)
from gateway.nhn_sms import metrics
from gateway.nhn_sms.adapter import NhnSmsAdapter
from gateway.nhn_sms.api import NhnRecord, SendAnswer, SendRequest
from gateway.nhn_sms.attachments import Uploader
from gateway.nhn_sms.codes import AMBIGUOUS, CodeClass, CodeInfo, classify_api
from gateway.nhn_sms.config import NhnSmsConnectorConfig
from gateway.nhn_sms.numbers import NumberBook
from gateway.nhn_sms.prepare import Prepared
from gateway.nhn_sms.reasons import NhnReason, code_reason
from gateway.port import Outcome, SendResult, split_reason, with_text

__all__ = ["BatchSender"]

log = structlog.get_logger("gateway.nhn_sms")

_MAX_LOOKBACK = timedelta(days=30)  # NHN list queries span at most one month (-4000)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BatchSender:
    def __init__(
        self,
        *,
        config: NhnSmsConnectorConfig,
        adapter: NhnSmsAdapter,
        breaker: CircuitBreaker,
        uploader: Uploader,
        numbers: NumberBook,
        rng: random.Random,
        sleep: Callable[[float], Awaitable[Any]],
        limiter: anyio.CapacityLimiter | None = None,
        wallclock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.config = config
        self.adapter = adapter
        self.breaker = breaker
        self.uploader = uploader
        self.numbers = numbers
        self.rng = rng
        self.sleep = sleep
        self.wallclock = wallclock
        # HTTP calls in flight at once (max_concurrent_requests); waits for a look-up hold none.
        self.limiter = limiter or anyio.CapacityLimiter(config.max_concurrent_requests)
        self.name = config.name
        self.account_error = False  # the last answer blamed our keys / project: not ready

    def _count(self, kind: str, outcome: str) -> None:
        metrics.REQUESTS.labels(self.name, kind, outcome).inc()

    # ---------------------------------------------------------------- dispatch
    async def dispatch(self, items: Sequence[Prepared]) -> list[SendResult]:
        """One SendResult per item (in any order)."""
        if self.breaker.state is BreakerState.OPEN:  # NHN is down: no look-ups either
            self._count("send", "parked")
            return self._park(items)
        results: list[SendResult] = []
        todo = list(items)
        resumable = [i for i in todo if i.message.may_be_duplicate]
        if resumable:
            found = await self._resume(resumable)
            results.extend(found.values())
            todo = [i for i in todo if i.message.id not in found]
        if todo:
            results.extend(await self._send(todo, split_on_message_error=len(todo) > 1))
        return results

    async def _send(self, items: Sequence[Prepared], *, split_on_message_error: bool) -> list[SendResult]:
        if not self.breaker.allow():
            self._count("send", "parked")
            return self._park(items)
        first = items[0]
        try:
            file_ids: tuple[int, ...] = ()
            if first.pictures:
                async with self.limiter:
                    file_ids = await self.uploader.file_ids(first.pictures)
        except ProviderRejected as exc:
            self.breaker.record_success()
            return [self._coded(i, exc.code, exc.provider_message, stage="upload") for i in items]
        except ProviderThrottled as exc:
            self.breaker.release_probe()
            return self._all(
                items, Outcome.THROTTLED, "nhn_throttled: HTTP 429 on upload", retry_after=exc.retry_after or 1.0
            )
        except ProviderError as exc:
            self.breaker.record_failure()
            self._count("upload", "unavailable")
            # an upload that may have been taken costs a stray file at NHN, never a message: RETRY
            return self._all(items, Outcome.RETRY, f"nhn_provider_unavailable: picture upload: {exc}")
        request = SendRequest(
            endpoint=first.plan.endpoint,
            send_no=first.send_no,
            body=first.message.body,
            recipients=tuple(i.plan.recipient for i in items),
            sender_grouping_key=f"{self.config.key_prefix}-r{uuid.uuid4().hex[:16]}",
            title=first.plan.title,
            attach_file_ids=file_ids,
        )
        tried_at = self.wallclock()
        started = time.perf_counter()
        try:
            async with self.limiter:
                answer = await self.adapter.send(request)
        except ProviderThrottled as exc:
            self.breaker.release_probe()
            self._count("send", "throttled")
            return self._all(
                items, Outcome.THROTTLED, "nhn_throttled: HTTP 429", retry_after=exc.retry_after or 1.0, code="429"
            )
        except ProviderUnavailable as exc:
            self.breaker.record_failure()
            self._count("send", "unavailable")
            if not exc.maybe_sent:
                return self._all(items, Outcome.RETRY, f"nhn_provider_unavailable: {exc}")
            return await self._reconcile(items, request, tried_at, f"no answer: {exc}")
        except ProviderProtocolError as exc:
            self.breaker.record_success()
            self._count("send", "protocol_error")
            return await self._reconcile(items, request, tried_at, f"unreadable answer: {exc}")
        except ProviderRejected as exc:
            self.breaker.record_success()
            self._count("send", "rejected")
            return await self._rejected(items, request, tried_at, exc, split_on_message_error)
        finally:
            metrics.REQUEST_SECONDS.labels(self.name, "send").observe(time.perf_counter() - started)
        self.breaker.record_success()
        self.account_error = False
        self._count("send", "ok")
        metrics.BATCH_RECIPIENTS.labels(self.name).observe(len(items))
        return await self._answered(items, request, tried_at, answer)

    async def _rejected(
        self,
        items: Sequence[Prepared],
        request: SendRequest,
        tried_at: datetime,
        exc: ProviderRejected,
        split: bool,
    ) -> list[SendResult]:
        info = classify_api(exc.code)
        log.warning(
            "nhn_sms.request.rejected",
            connector=self.name,
            code=exc.code,
            provider_message=exc.provider_message,
            recipients=len(items),
        )
        if exc.code in AMBIGUOUS:
            return await self._reconcile(items, request, tried_at, f"NHN system error {exc.code}")
        if exc.code == "-2004" and items[0].pictures:
            await self.uploader.expired(items[0].pictures, request.attach_file_ids)
            return await self._send(items, split_on_message_error=split)
        if exc.code in ("-2312", "-2313", "-6004"):
            self.numbers.stale = True
        if split and info.cls in (CodeClass.FAILED, CodeClass.UNDELIVERABLE) and info.scope == "message":
            log.info("nhn_sms.batch.split", connector=self.name, code=exc.code, recipients=len(items))
            results: list[SendResult] = []
            for item in items:
                results.extend(await self._send([item], split_on_message_error=False))
            return results
        return [self._coded(i, exc.code, exc.provider_message) for i in items]

    async def _answered(
        self, items: Sequence[Prepared], request: SendRequest, tried_at: datetime, answer: SendAnswer
    ) -> list[SendResult]:
        by_key = {a.grouping_key: a for a in answer.recipients if a.grouping_key}
        results: list[SendResult] = []
        unclear: list[Prepared] = []
        for item in items:
            ra = by_key.get(item.plan.recipient.grouping_key)
            if answer.status_code == "3" or ra is None or ra.code == "" or ra.code in AMBIGUOUS:
                unclear.append(item)
            elif ra.code == "0":
                results.append(self._submitted(item, answer.request_id, ra.recipient_seq))
            else:
                results.append(self._coded(item, ra.code, ra.message))
        if unclear:
            why = "statusCode 3 (요청 실패)" if answer.status_code == "3" else "no per-recipient result"
            results.extend(await self._reconcile(unclear, request, tried_at, why))
        return results

    # ---------------------------------------------------------------- never twice
    def _window(self, since: datetime) -> tuple[datetime, datetime]:
        now = self.wallclock()
        start = max(since - timedelta(minutes=2), now - _MAX_LOOKBACK + timedelta(minutes=5))
        return start, now + timedelta(minutes=1)

    async def _reconcile(
        self, items: Sequence[Prepared], request: SendRequest, tried_at: datetime, why: str
    ) -> list[SendResult]:
        """After an ambiguous try: find what NHN took, by the try's senderGroupingKey."""
        c = self.config
        log.warning("nhn_sms.send.ambiguous", connector=self.name, recipients=len(items), why=why)
        records: list[NhnRecord] = []
        for attempt in range(c.reconcile_tries):
            await self.sleep(c.reconcile_grace_seconds)
            start, end = self._window(tried_at)
            try:
                async with self.limiter:
                    records = await self.adapter.lookup(
                        request.family, start=start, end=end, sender_grouping_key=request.sender_grouping_key
                    )
                self._count("lookup", "ok")
            except ProviderError as exc:
                self._count("lookup", "error")
                log.warning("nhn_sms.reconcile.failed", connector=self.name, attempt=attempt + 1, error=str(exc))
                continue
            if records:
                break
        found = {r.grouping_key: r for r in records if r.grouping_key}
        results = []
        for item in items:
            record = found.get(item.plan.recipient.grouping_key)
            if record is not None:
                results.append(self._submitted(item, record.request_id, record.recipient_seq, reconciled=True))
            elif records:  # NHN took the request, and not this recipient: nothing went out for it
                results.append(
                    SendResult(
                        item.message.id,
                        Outcome.RETRY,
                        reason=NhnReason.NOT_TAKEN,
                        detail={"detail": f"the request was taken without it ({why})"},
                    )
                )
            else:
                results.append(
                    SendResult(
                        item.message.id,
                        Outcome.UNKNOWN,
                        reason=NhnReason.NO_ANSWER,
                        retry_after=max(c.reconcile_grace_seconds, 1.0),
                        detail={
                            "detail": f"{why}; not found at NHN after {c.reconcile_tries} look-up(s)",
                            "sender_grouping_key": request.sender_grouping_key,
                            "message_type": str(item.plan.type),
                        },
                    )
                )
        log.info(
            "nhn_sms.reconcile.done", connector=self.name, found=len(found), recipients=len(items), taken=bool(records)
        )
        return results

    async def _resume(self, items: Sequence[Prepared]) -> dict[int, SendResult]:
        """Messages an earlier attempt may have sent: found at NHN → SUBMITTED without a request."""
        found: dict[int, SendResult] = {}
        for item in items:
            created = item.message.created_at or self.wallclock() - timedelta(days=1)
            start, end = self._window(created)
            try:
                async with self.limiter:
                    records = await self.adapter.lookup(
                        item.plan.endpoint.removeprefix("ad-"),
                        start=start,
                        end=end,
                        recipient_grouping_key=item.plan.recipient.grouping_key,
                    )
                self._count("lookup", "ok")
            except ProviderError as exc:
                self._count("lookup", "error")
                found[item.message.id] = SendResult(
                    item.message.id,
                    Outcome.RETRY,
                    reason=NhnReason.LOOKUP_FAILED,
                    detail={"detail": f"an earlier attempt may have been sent and NHN cannot be asked: {exc}"},
                )
                continue
            if records:
                first = min(records, key=lambda r: (r.request_id, r.recipient_seq or 0))
                if len(records) > 1:
                    log.error(
                        "nhn_sms.duplicate_found", connector=self.name, message_id=item.message.id, copies=len(records)
                    )
                found[item.message.id] = self._submitted(item, first.request_id, first.recipient_seq, resumed=True)
        if found:
            log.info("nhn_sms.resumed", connector=self.name, messages=len(found))
        return found

    # ---------------------------------------------------------------- results
    def _submitted(
        self,
        item: Prepared,
        request_id: str | None,
        seq: int | None,
        *,
        reconciled: bool = False,
        resumed: bool = False,
    ) -> SendResult:
        detail: dict[str, Any] = {
            "message_type": str(item.plan.type),
            "endpoint": item.plan.endpoint,
            "request_id": request_id,
            "recipient_seq": seq,
        }
        if item.plan.bytes is not None:
            detail["bytes"] = item.plan.bytes
        if reconciled:
            detail["reconciled"] = True
        if resumed:
            detail["resumed"] = True
        return SendResult(
            item.message.id,
            Outcome.SUBMITTED,
            carrier_ids=(item.plan.recipient.grouping_key,),
            segments=item.plan.cost,
            detail=detail,
        )

    def _park(self, items: Sequence[Prepared]) -> list[SendResult]:
        retry_after = self.breaker.retry_after() + self.rng.uniform(0, 1.0)
        return self._all(
            items,
            Outcome.RETRY,
            "nhn_provider_down: circuit breaker open, message parked",
            retry_after=max(retry_after, 0.001),
            detail={"parked": True},
        )

    @staticmethod
    def _all(
        items: Sequence[Prepared],
        outcome: Outcome,
        reason: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> list[SendResult]:
        code_of, text = split_reason(reason)
        detail = with_text(detail, text)
        return [
            SendResult(i.message.id, outcome, code=code, reason=code_of, retry_after=retry_after, detail=detail)
            for i in items
        ]

    def _coded(self, item: Prepared, code: str, provider_message: str, *, stage: str = "send") -> SendResult:
        c = self.config
        info: CodeInfo = classify_api(code)
        text = provider_message or info.description
        detail: dict[str, Any] = {
            "provider_code": code,
            "class": info.cls.value,
            "scope": info.scope,
            "message_type": str(item.plan.type),
        }
        if stage != "send":
            detail["stage"] = stage
        detail["detail"] = text
        reason = code_reason(info.cls.value)
        if info.cls is CodeClass.UNDELIVERABLE:  # -6001: the recipient opted out through the 080 service
            return SendResult(item.message.id, Outcome.FAILED, code=code, reason=NhnReason.OPTED_OUT, detail=detail)
        if info.cls is CodeClass.FAILED:
            if code in ("-2312", "-2313"):
                reason = NhnReason.UNREGISTERED_SENDER
                detail["detail"] = f"NHN refused sender {item.send_no}: {text}"
            return SendResult(item.message.id, Outcome.FAILED, code=code, reason=reason, detail=detail)
        if info.scope == "account":
            self.account_error = True
            log.error("nhn_sms.account.rejected", connector=self.name, code=code, provider_message=provider_message)
            return SendResult(
                item.message.id,
                Outcome.RETRY,
                code=code,
                reason=reason,
                retry_after=c.account_error_retry_after_seconds,
                detail=detail,
            )
        if info.scope == "quota":
            return SendResult(
                item.message.id,
                Outcome.THROTTLED,
                code=code,
                reason=reason,
                retry_after=c.quota_retry_after_seconds,
                detail=detail,
            )
        if info.scope == "request":
            log.error("nhn_sms.request.bug", connector=self.name, code=code, provider_message=provider_message)
        if not info.known:
            log.warning("nhn_sms.code.unknown", connector=self.name, code=code, provider_message=provider_message)
        return SendResult(item.message.id, Outcome.RETRY, code=code, reason=reason, detail=detail)

    @property
    def down(self) -> bool:
        return self.breaker.state is BreakerState.OPEN
