"""Sending one batch: retries with backoff and jitter, the circuit breaker, outcomes.

``BatchSender.dispatch`` makes at most ``retry_attempts`` HTTP tries of one
batch (all with the same idempotency key) and returns one SendResult per
message:

* provider down (connection error, timeout, 5xx): retried with full-jitter
  backoff; each failure counts towards the breaker. When the tries run out the
  messages go back as RETRY, or UNKNOWN when a try may have reached the
  provider (a timeout or reset after sending) and none gave an answer;
* breaker open: no request at all; the messages are *parked*: RETRY with
  ``retry_after`` = time until the breaker half-opens (plus jitter), never FAILED;
* 429: retried after ``Retry-After`` (or backoff) while that stays under
  ``retry_after_max_seconds``; otherwise THROTTLED with ``retry_after``;
* a definite rejection (4xx, a header result code): never retried; the
  request's code is classified for every message (:mod:`gateway.kakao.codes`);
* an unreadable answer: UNKNOWN for every message (it may have been taken).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from gateway.backoff import Backoff
from gateway.kakao import metrics
from gateway.kakao.codes import CodeClass, classify_code, send_outcome
from gateway.kakao.config import KakaoConnectorConfig
from gateway.kakao.errors import ProviderProtocolError, ProviderRejected, ProviderThrottled, ProviderUnavailable
from gateway.kakao.fallback import fallback_for
from gateway.kakao.prepare import Prepared
from gateway.kakao.provider import BatchAnswer, ProviderAdapter, SendBatch
from gateway.kakao.reasons import KakaoReason, code_reason
from gateway.kakao.resilience import BreakerState, CircuitBreaker
from gateway.port import Outcome, SendResult

__all__ = ["BatchSender"]

log = structlog.get_logger("gateway.kakao")


class BatchSender:
    def __init__(
        self,
        *,
        config: KakaoConnectorConfig,
        adapter: ProviderAdapter,
        breaker: CircuitBreaker,
        rng: random.Random,
        sleep: Callable[[float], Awaitable[Any]],
    ) -> None:
        self.config = config
        self.adapter = adapter
        self.breaker = breaker
        self.rng = rng
        self.sleep = sleep
        self.name = config.name
        self.backoff = Backoff(config.retry_backoff_initial_seconds, config.retry_backoff_max_seconds, jitter=1.0)

    def _count(self, outcome: str) -> None:
        metrics.REQUESTS.labels(self.name, "send", outcome).inc()

    def _backoff(self, attempt: int) -> float:
        """Full jitter under an exponential ceiling; ``attempt`` counts retries from 0."""
        return self.backoff.delay(attempt + 1, self.rng)

    async def dispatch(self, batch: SendBatch, items: Sequence[Prepared]) -> list[SendResult]:
        c = self.config
        maybe_sent = False
        last: ProviderUnavailable | None = None
        for attempt in range(c.retry_attempts):
            if not self.breaker.allow():
                if maybe_sent:  # an earlier try may have gone out: parking could duplicate it
                    break
                self._count("parked")
                return self._park(items)
            started = time.perf_counter()
            try:
                answer = await self.adapter.send_batch(batch)
            except ProviderThrottled as exc:
                self.breaker.release_probe()
                self._count("throttled")
                delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempt)
                if delay > c.retry_after_max_seconds or attempt == c.retry_attempts - 1:
                    return self._all(
                        items,
                        Outcome.THROTTLED,
                        "alimtalk_throttled: the provider answered HTTP 429",
                        retry_after=max(delay, 0.001),
                        code="429",
                    )
                log.info("kakao.request.throttled", connector=self.name, attempt=attempt + 1, delay=round(delay, 3))
                await self.sleep(delay)
                continue
            except ProviderUnavailable as exc:
                self.breaker.record_failure()
                self._count("unavailable")
                last = exc
                maybe_sent = maybe_sent or exc.maybe_sent
                if attempt == c.retry_attempts - 1:
                    break
                delay = self._backoff(attempt)
                log.info(
                    "kakao.request.retry",
                    connector=self.name,
                    attempt=attempt + 1,
                    delay=round(delay, 3),
                    error=str(exc),
                )
                await self.sleep(delay)
                continue
            except ProviderRejected as exc:
                self.breaker.record_success()
                self._count("rejected")
                log.warning(
                    "kakao.request.rejected",
                    connector=self.name,
                    code=exc.code,
                    provider_message=exc.provider_message,
                    recipients=len(items),
                )
                return [self._coded(item, exc.code, exc.provider_message) for item in items]
            except ProviderProtocolError as exc:
                self.breaker.record_success()
                self._count("protocol_error")
                log.error("kakao.request.unreadable", connector=self.name, error=str(exc), recipients=len(items))
                return self._all(items, Outcome.UNKNOWN, KakaoReason.UNREADABLE_ANSWER, detail={"detail": str(exc)})
            finally:
                metrics.REQUEST_SECONDS.labels(self.name, "send").observe(time.perf_counter() - started)
            self.breaker.record_success()
            self._count("ok")
            metrics.BATCH_RECIPIENTS.labels(self.name).observe(len(items))
            return self._answered(answer, items)
        # every try failed with "provider unavailable" (or the breaker stopped the tries)
        if self.breaker.state is not BreakerState.CLOSED and not maybe_sent:
            return self._park(items)
        error = str(last) if last else "provider unavailable"
        if maybe_sent:
            return self._all(
                items,
                Outcome.UNKNOWN,
                KakaoReason.NO_ANSWER,
                detail={"detail": f"{error} (a try may have reached the provider)"},
            )
        return self._all(items, Outcome.RETRY, KakaoReason.PROVIDER_UNAVAILABLE, detail={"detail": error})

    # ---------------------------------------------------------------- results
    def _park(self, items: Sequence[Prepared]) -> list[SendResult]:
        retry_after = self.breaker.retry_after() + self.rng.uniform(0, 1.0)
        return self._all(
            items,
            Outcome.RETRY,
            KakaoReason.PROVIDER_DOWN,
            retry_after=max(retry_after, 0.001),
            detail={"parked": True},  # the circuit breaker is open
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
        return [
            SendResult(i.message.id, outcome, code=code, reason=reason, retry_after=retry_after, detail=detail)
            for i in items
        ]

    def _answered(self, answer: BatchAnswer, items: Sequence[Prepared]) -> list[SendResult]:
        results = []
        for ra in answer.recipients:
            item = items[ra.index]
            if ra.carrier_id is not None:
                results.append(
                    SendResult(
                        item.message.id,
                        Outcome.SUBMITTED,
                        carrier_ids=(ra.carrier_id,),
                        code=ra.code,
                        detail={"request_id": answer.request_id},
                        # kept with the message: a later result may still ask for it
                        fallback=fallback_for(item.message) if self.config.fallback_mode == "gateway" else None,
                    )
                )
            else:
                results.append(self._coded(item, ra.code, ra.message))
        return results

    def _coded(self, item: Prepared, code: str, provider_message: str) -> SendResult:
        c = self.config
        info = classify_code(code)
        outcome, wants_fallback = send_outcome(
            info, fallback_mode=c.fallback_mode, fallback_on_template_error=c.fallback_on_template_error
        )
        retry_after = None
        if info.cls is CodeClass.THROTTLE:
            retry_after = c.daily_limit_retry_after_seconds
        elif info.cls is CodeClass.ACCOUNT:
            retry_after = c.account_error_retry_after_seconds
            log.error("kakao.account.rejected", connector=self.name, code=code, provider_message=provider_message)
        detail: dict[str, Any] = {
            "provider_code": code,
            "provider_message": provider_message or info.description,
            "class": info.cls.value,
        }
        reason = code_reason(info.slug)  # the provider's text is in the detail
        return SendResult(
            item.message.id,
            outcome,
            code=code,
            reason=reason,
            retry_after=retry_after,
            detail=detail,
            fallback=fallback_for(item.message) if wants_fallback else None,
        )
