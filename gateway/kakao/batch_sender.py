"""Sending one group of messages: the journal first, at most one copy, retries, the breaker, outcomes.

``BatchSender.send(items)`` takes one group from the batcher (one sender
profile, template and endpoint) and returns one SendResult per message:

1. **Journal** (:mod:`gateway.kakao.journal`): a new *provider key* is recorded
   for the messages before anything leaves. A message that already has a row
   was handed to NHN before (a retry, a restart, another instance):
   accepted ones are *resumed* (SUBMITTED under their ``requestId:recipientSeq``,
   nothing sent); unknown ones are looked up first (below). When the journal
   cannot be written nothing is sent (RETRY).
2. **Tries**: at most ``retry_attempts`` HTTP tries, all under the same key
   (``X-NC-API-IDEMPOTENCY-KEY`` and ``senderGroupingKey``):

   * provider down (connection error, 5xx): retried with full-jitter back-off,
     counted by the breaker; when the tries run out: RETRY (nothing left);
   * a try that may have reached NHN without an answer (a timeout, a reset, an
     unreadable answer, -1005 "key already used"): **before any further try NHN
     is asked** what it accepted under the key (list query by
     ``senderGroupingKey`` in a window padded by a day); what it holds is
     SUBMITTED under NHN's ids, the rest is sent again under the *same* key
     (NHN refuses a repeat within 10 minutes, so a late list cannot cause a
     second copy), or, once NHN has certainly seen the key, left UNKNOWN with
     ``retry_after`` until the key expires: the next attempt asks again;
   * breaker open: no request at all; RETRY with ``retry_after`` = time until
     the breaker half-opens (*parked*);
   * 429: retried after ``Retry-After`` while that stays under
     ``retry_after_max_seconds``; otherwise THROTTLED;
   * a definite answer: classified per recipient (:mod:`gateway.kakao.codes`).

In gateway fallback mode every SUBMITTED result carries the message's fallback
(kept by the queue until a receipt asks for it), every FAILED one that asks for
it carries it, and so does every RETRY (used by the queue when the attempts run
out). In provider fallback mode, a refusal NHN resends by SMS itself (-3010,
-3011, -3042, -3043, -3046) is SUBMITTED under its ids with the code, and its
resend is followed by the result tracker.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from gateway.backoff import Backoff
from gateway.errors import GatewayError
from gateway.httpclient import (
    BreakerState,
    CircuitBreaker,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
)
from gateway.kakao import metrics
from gateway.kakao.codes import SendDecision, classify_code, send_outcome
from gateway.kakao.config import KakaoConnectorConfig
from gateway.kakao.fallback import fallback_for
from gateway.kakao.journal import Final, Journal, JournalRow
from gateway.kakao.nhn import PROVIDER_RESENDS
from gateway.kakao.prepare import Prepared
from gateway.kakao.provider import BatchAnswer, ProviderAdapter, SendBatch
from gateway.kakao.reasons import KakaoReason, code_reason
from gateway.port import Outcome, SendResult

__all__ = ["KEY_LIFETIME_SECONDS", "BatchSender", "KakaoBreaker", "new_provider_key"]

log = structlog.get_logger("gateway.kakao")

KEY_LIFETIME_SECONDS = 600.0  # NHN refuses a repeated X-NC-API-IDEMPOTENCY-KEY for 10 minutes
LOOKUP_PADDING = timedelta(days=1)  # a wrong time-zone guess must not hide an accepted copy


def new_provider_key() -> str:
    """A fresh provider key (``X-NC-API-IDEMPOTENCY-KEY`` and ``senderGroupingKey``, ≤ 100 characters)."""
    return f"gw-{uuid.uuid4().hex}"


class KakaoBreaker(CircuitBreaker):
    """The shared circuit breaker (:mod:`gateway.httpclient.breaker`), logging ``kakao.breaker.*`` as before."""

    event_prefix = "kakao"


class BatchSender:
    def __init__(
        self,
        *,
        config: KakaoConnectorConfig,
        adapter: ProviderAdapter,
        breaker: CircuitBreaker,
        journal: Journal,
        rng: random.Random,
        sleep: Callable[[float], Awaitable[Any]],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.adapter = adapter
        self.breaker = breaker
        self.journal = journal
        self.rng = rng
        self.sleep = sleep
        self.now = now
        self.name = config.name
        self.gateway_fallback = config.fallback_mode == "gateway"
        self.backoff = Backoff(config.retry_backoff_initial_seconds, config.retry_backoff_max_seconds, jitter=1.0)

    def _count(self, kind: str, outcome: str) -> None:
        metrics.REQUESTS.labels(self.name, kind, outcome).inc()

    def _delay(self, attempt: int) -> float:
        """Full jitter under an exponential ceiling; ``attempt`` counts retries from 0."""
        return self.backoff.delay(attempt + 1, self.rng)

    # ---------------------------------------------------------------- entry
    async def send(self, items: Sequence[Prepared]) -> list[SendResult]:
        """One group (same sender, template, endpoint): journal, resume what was sent before, send the rest."""
        key = new_provider_key()
        entries = [(i.message.id, i.request.grouping_key or "", i.auth) for i in items]
        try:
            existing = await self.journal.begin(self.name, key, entries)
        except GatewayError as exc:
            log.error("kakao.journal.unavailable", connector=self.name, error=str(exc), recipients=len(items))
            return self._all(items, Outcome.RETRY, KakaoReason.JOURNAL_UNAVAILABLE, text=str(exc))
        results: list[SendResult] = []
        fresh: list[Prepared] = []
        unknown: dict[str, list[tuple[Prepared, JournalRow]]] = {}
        for item in items:
            row = existing.get(item.message.id)
            if row is None:
                fresh.append(item)
            elif row.carrier_id is not None and row.state in ("accepted", "resending", "final"):
                metrics.RESUMED.labels(self.name, "journal").inc()
                results.append(self._submitted(item, row.carrier_id, row.provider_key, resumed="journal"))
            else:
                unknown.setdefault(row.provider_key, []).append((item, row))
        if results:
            log.info("kakao.send.resumed", connector=self.name, how="journal", recipients=len(results))
        if fresh:
            results.extend(await self._run(key, fresh, since=self.now(), touched=False))
        for old_key, group in unknown.items():
            since = min(row.first_sent_at for _, row in group)
            results.extend(await self._run(old_key, [item for item, _ in group], since=since, touched=True))
        return results

    # ---------------------------------------------------------------- one key
    async def _run(self, key: str, items: Sequence[Prepared], *, since: datetime, touched: bool) -> list[SendResult]:
        """Send ``items`` under ``key``. ``touched``: a request under this key may already be at NHN."""
        c = self.config
        first = items[0]
        remaining = list(items)
        results: list[SendResult] = []
        uncertain = touched  # ask NHN before the next try
        seen = False  # NHN has certainly seen this key: a repeat within 10 minutes is refused
        last: ProviderUnavailable | None = None
        for attempt in range(c.retry_attempts):
            if uncertain:
                found = await self._lookup(key, remaining, since)
                if found is None:
                    return results + self._unknown(remaining, since, seen, KakaoReason.LOOKUP_FAILED)
                results.extend(found[0])
                remaining = found[1]
                if not remaining:
                    return results
                if seen:
                    return results + self._unknown(remaining, since, True, KakaoReason.NOT_FOUND_AFTER_ANSWER)
                uncertain = False
            if not self.breaker.allow():
                self._count("send", "parked")
                if touched:  # an earlier try may be at NHN: never re-key it
                    return results + self._unknown(remaining, since, False, KakaoReason.PROVIDER_DOWN)
                return results + await self._park(remaining)
            batch = SendBatch(
                first.sender_key,
                first.template_code,
                tuple(i.request for i in remaining),
                key,
                auth=first.auth,
                resend_off=self.gateway_fallback,
            )
            started = time.perf_counter()
            try:
                answer = await self.adapter.send_batch(batch)
            except ProviderThrottled as exc:
                self.breaker.release_probe()
                self._count("send", "throttled")
                delay = exc.retry_after if exc.retry_after is not None else self._delay(attempt)
                if delay > c.retry_after_max_seconds or attempt == c.retry_attempts - 1:
                    if not touched:
                        await self._refused(remaining, None)
                    return results + self._all(
                        remaining,
                        Outcome.THROTTLED,
                        KakaoReason.THROTTLED,
                        text="the provider answered HTTP 429",
                        retry_after=max(delay, 0.001),
                        code="429",
                    )
                log.info("kakao.request.throttled", connector=self.name, attempt=attempt + 1, delay=round(delay, 3))
                await self.sleep(delay)
                continue
            except ProviderUnavailable as exc:
                self.breaker.record_failure()
                self._count("send", "unavailable")
                last = exc
                if exc.maybe_sent:
                    uncertain = touched = True
                if attempt < c.retry_attempts - 1:
                    delay = self._delay(attempt)
                    log.info(
                        "kakao.request.retry",
                        connector=self.name,
                        attempt=attempt + 1,
                        delay=round(delay, 3),
                        maybe_sent=exc.maybe_sent,
                        error=str(exc),
                    )
                    await self.sleep(delay)
                continue
            except ProviderRejected as exc:
                self.breaker.record_success()
                if self._decide(exc.code).outcome is Outcome.UNKNOWN:  # -1005: the key was used: ask what it took
                    self._count("send", "ambiguous")
                    log.warning(
                        "kakao.request.ambiguous", connector=self.name, code=exc.code, recipients=len(remaining)
                    )
                    uncertain = seen = touched = True
                    continue
                self._count("send", "rejected")
                log.warning(
                    "kakao.request.rejected",
                    connector=self.name,
                    code=exc.code,
                    provider_message=exc.provider_message,
                    recipients=len(remaining),
                )
                if not touched:
                    await self._refused(remaining, exc.code)
                return results + [self._coded(item, exc.code, exc.provider_message) for item in remaining]
            except ProviderProtocolError as exc:
                self.breaker.record_success()
                self._count("send", "protocol_error")
                log.error("kakao.request.unreadable", connector=self.name, error=str(exc), recipients=len(remaining))
                uncertain = seen = touched = True
                continue
            finally:
                metrics.REQUEST_SECONDS.labels(self.name, "send").observe(time.perf_counter() - started)
            self.breaker.record_success()
            self._count("send", "ok")
            metrics.BATCH_RECIPIENTS.labels(self.name).observe(len(remaining))
            touched = True
            done, remaining = await self._answered(answer, remaining, key)
            results.extend(done)
            if not remaining:
                return results
            uncertain = seen = True  # the answer did not settle them
        # the tries are spent
        if uncertain:
            found = await self._lookup(key, remaining, since)
            if found is None:
                return results + self._unknown(remaining, since, seen, KakaoReason.LOOKUP_FAILED)
            results.extend(found[0])
            remaining = found[1]
        if not remaining:
            return results
        error = str(last) if last else "provider unavailable"
        if touched:  # a try may be at NHN and not listed yet: the next attempt asks again
            return results + self._unknown(remaining, since, seen, KakaoReason.NO_ANSWER, text=error)
        if self.breaker.state is not BreakerState.CLOSED:
            return results + await self._park(remaining)
        await self._refused(remaining, None)
        return results + self._all(remaining, Outcome.RETRY, KakaoReason.PROVIDER_UNAVAILABLE, text=error)

    async def _lookup(
        self, key: str, items: Sequence[Prepared], since: datetime
    ) -> tuple[list[SendResult], list[Prepared]] | None:
        """Ask NHN what it accepted under ``key``: (SUBMITTED results, the items it does not hold); None on error."""
        first = items[0]
        started = time.perf_counter()
        try:
            found = await self.adapter.find_sent(
                key, since=since - LOOKUP_PADDING, until=self.now() + LOOKUP_PADDING, auth=first.auth
            )
        except ProviderError as exc:
            self._count("lookup", "error")
            log.warning("kakao.lookup.failed", connector=self.name, error=str(exc), recipients=len(items))
            return None
        finally:
            metrics.REQUEST_SECONDS.labels(self.name, "lookup").observe(time.perf_counter() - started)
        self._count("lookup", "ok")
        held = {f.grouping_key: f for f in found}
        results: list[SendResult] = []
        rest: list[Prepared] = []
        accepted: list[tuple[int, str, int, str | None]] = []
        for item in items:
            f = held.get(item.request.grouping_key or "")
            if f is None:
                rest.append(item)
                continue
            accepted.append((item.message.id, f.request_id, f.recipient_seq, None))
            results.append(self._submitted(item, f.carrier_id, key, resumed="lookup"))
        if accepted:
            metrics.RESUMED.labels(self.name, "lookup").inc(len(accepted))
            await self._journal("accepted", accepted)
        log.info("kakao.lookup.done", connector=self.name, found=len(results), not_found=len(rest))
        return results, rest

    async def _answered(
        self, answer: BatchAnswer, items: Sequence[Prepared], key: str
    ) -> tuple[list[SendResult], list[Prepared]]:
        """Results of a read answer, and the items it did not settle (to be looked up)."""
        results: list[SendResult] = []
        unsettled = [items[i] for i in answer.missing]
        accepted: list[tuple[int, str, int, str | None]] = []
        refused: list[tuple[int, str | None]] = []
        resends: list[Final] = []
        for ra in answer.recipients:
            item = items[ra.index]
            if ra.code == "0" and ra.carrier_id is not None:
                rid, _, seq = ra.carrier_id.rpartition(":")
                accepted.append((item.message.id, rid, int(seq), None))
                results.append(self._submitted(item, ra.carrier_id, key, request_id=answer.request_id))
            elif ra.carrier_id is not None and ra.code in PROVIDER_RESENDS and not self.gateway_fallback:
                rid, _, seq = ra.carrier_id.rpartition(":")
                accepted.append((item.message.id, rid, int(seq), ra.code))
                resends.append(Final(rid, int(seq), ra.code))
                results.append(
                    SendResult(
                        item.message.id,
                        Outcome.SUBMITTED,
                        carrier_ids=(ra.carrier_id,),
                        code=ra.code,
                        reason=KakaoReason.REFUSED_PROVIDER_RESENDS,
                        detail={
                            "request_id": rid,
                            "provider_key": key,
                            "resend": "expected",
                            "detail": ra.message or classify_code(ra.code).description,
                        },
                    )
                )
            else:
                if self._decide(ra.code).outcome is Outcome.UNKNOWN:
                    unsettled.append(item)
                    continue
                refused.append((item.message.id, ra.code))
                results.append(self._coded(item, ra.code, ra.message))
        await self._journal("accepted", accepted)
        await self._journal("refused", refused)
        if resends:
            await self._journal("resending", resends)
        return results, unsettled

    # ---------------------------------------------------------------- journal writes after the fact
    async def _journal(self, what: str, items: Sequence[Any]) -> None:
        """Record what NHN said; a failure is logged, not fatal (the answer stands, a lookup can recover it)."""
        if not items:
            return
        try:
            await getattr(self.journal, what)(self.name, items)
        except GatewayError as exc:
            log.error("kakao.journal.write_failed", connector=self.name, what=what, error=str(exc), rows=len(items))

    async def _refused(self, items: Sequence[Prepared], code: str | None) -> None:
        await self._journal("refused", [(i.message.id, code) for i in items])

    # ---------------------------------------------------------------- results
    def _fallback(self, item: Prepared) -> Any:
        return fallback_for(item.message) if self.gateway_fallback else None

    def _submitted(
        self, item: Prepared, cid: str, key: str, *, request_id: str | None = None, resumed: str | None = None
    ) -> SendResult:
        detail: dict[str, Any] = {"request_id": request_id or cid.rpartition(":")[0], "provider_key": key}
        if resumed:
            detail["resumed"] = resumed
        return SendResult(
            item.message.id,
            Outcome.SUBMITTED,
            carrier_ids=(cid,),
            code="0",
            detail=detail,
            fallback=self._fallback(item),  # kept with the message: a later result may ask for it
        )

    def _unknown(
        self, items: Sequence[Prepared], since: datetime, seen: bool, reason: str, *, text: str | None = None
    ) -> list[SendResult]:
        """Outcome unknown: the next attempt asks NHN again (after the key expired, when NHN saw it)."""
        retry_after = None
        if seen:
            elapsed = (self.now() - since).total_seconds()
            retry_after = max(KEY_LIFETIME_SECONDS - elapsed, 1.0) + self.rng.uniform(0, 5.0)
        log.warning("kakao.send.unknown", connector=self.name, recipients=len(items), reason=str(reason))
        return self._all(items, Outcome.UNKNOWN, reason, retry_after=retry_after, text=text)

    async def _park(self, items: Sequence[Prepared]) -> list[SendResult]:
        await self._refused(items, None)
        retry_after = self.breaker.retry_after() + self.rng.uniform(0, 1.0)
        return [
            SendResult(
                i.message.id,
                Outcome.RETRY,
                reason=KakaoReason.PROVIDER_DOWN,
                retry_after=max(retry_after, 0.001),
                detail={"parked": True, "detail": "circuit breaker open, message parked"},
                fallback=self._fallback(i),
            )
            for i in items
        ]

    def _all(
        self,
        items: Sequence[Prepared],
        outcome: Outcome,
        reason: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        text: str | None = None,
    ) -> list[SendResult]:
        detail = {"detail": text} if text else None
        return [
            SendResult(
                i.message.id,
                outcome,
                code=code,
                reason=reason,
                retry_after=retry_after,
                detail=detail,
                fallback=self._fallback(i) if outcome is Outcome.RETRY else None,
            )
            for i in items
        ]

    def _decide(self, code: str) -> SendDecision:
        c = self.config
        return send_outcome(
            classify_code(code), fallback_mode=c.fallback_mode, fallback_on_template_error=c.fallback_on_template_error
        )

    def _coded(self, item: Prepared, code: str, provider_message: str) -> SendResult:
        c = self.config
        info = classify_code(code)
        decision = self._decide(code)
        retry_after = None
        if decision.pause == "volume":
            retry_after = c.daily_limit_retry_after_seconds
        elif decision.pause == "account":
            retry_after = c.account_error_retry_after_seconds
            log.error("kakao.account.rejected", connector=self.name, code=code, provider_message=provider_message)
        if not info.documented:
            log.warning("kakao.code.unknown", connector=self.name, code=code, provider_message=provider_message)
        detail: dict[str, Any] = {
            "provider_code": code,
            "provider_message": provider_message or info.description,
            "class": info.label,
            "scope": info.scope,
        }
        detail["detail"] = provider_message or info.description
        return SendResult(
            item.message.id,
            decision.outcome,
            code=code,
            reason=code_reason(info.label),
            retry_after=retry_after,
            detail=detail,
            fallback=self._fallback(item) if decision.fallback else None,
        )
