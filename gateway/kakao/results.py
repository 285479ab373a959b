"""Delivery results: from provider reports to stored receipts, by webhook or by polling.

Reports reach :meth:`ResultTracker.deliver` from the webhook handler or from
the poller. Only final reports become receipts (:func:`gateway.kakao.codes.receipt_outcome`
says which state and whether the engine should fall back); they are written
with ``await sink.store_receipts(...)`` before anyone is told they were taken.
A duplicate (a webhook retried by the provider, a poll racing a webhook) is
dropped by a bounded memory of recently stored carrier ids, and stays
harmless beyond it because the engine matches receipts by carrier id.

In ``results = "poll"`` mode, every submitted carrier id is *watched*; the
poller queries each request id every ``poll_interval_seconds`` until all its
recipients have a final result, or until ``poll_give_up_seconds``, when the
rest get an UNKNOWN receipt. Watches live in memory: after a restart, the
daemon re-seeds them with :meth:`ResultTracker.watch` from the messages still
``submitted`` for this connector.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import structlog

from gateway.errors import GatewayError
from gateway.kakao import metrics
from gateway.kakao.codes import classify_code, receipt_outcome
from gateway.kakao.config import KakaoConnectorConfig
from gateway.kakao.errors import ProviderError
from gateway.kakao.provider import DeliveryReport, ProviderAdapter
from gateway.port import Receipt, ReceiptState, ResultSink

__all__ = ["ResultTracker"]

log = structlog.get_logger("gateway.kakao")


@dataclass(slots=True)
class _Watch:
    seqs: set[int]
    since: float
    next_at: float
    failures: int = 0


class ResultTracker:
    def __init__(
        self,
        *,
        config: KakaoConnectorConfig,
        adapter: ProviderAdapter,
        clock: Callable[[], float],
        may_poll: Callable[[], bool] = lambda: True,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
        seen_limit: int = 200_000,
    ) -> None:
        self.config = config
        self.name = config.name
        self.adapter = adapter
        self.clock = clock
        self.may_poll = may_poll
        self.sleep = sleep
        self.sink: ResultSink | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_limit = seen_limit
        self._watches: dict[str, _Watch] = {}

    # ---------------------------------------------------------------- receipts
    def receipt(self, report: DeliveryReport) -> Receipt:
        c = self.config
        info = classify_code(report.code)
        state, fallback = receipt_outcome(
            info, fallback_mode=c.fallback_mode, fallback_on_template_error=c.fallback_on_template_error
        )
        detail: dict[str, Any] = {
            "provider_code": report.code,
            "provider_message": report.message or info.description,
            "class": info.cls.value,
            "request_id": report.request_id,
            "recipient_seq": report.recipient_seq,
        }
        if report.resend_status:
            detail["resend_status"] = report.resend_status
        return Receipt(
            self.name,
            report.carrier_id,
            state,
            code=report.code,
            done_at=report.done_at,
            detail=detail,
            fallback=fallback,
        )

    async def deliver(self, reports: Iterable[DeliveryReport], *, source: str) -> int:
        """Store the final, not yet stored reports; return how many receipts were written."""
        fresh: dict[str, Receipt] = {}
        for report in reports:
            if report.final and report.carrier_id not in self._seen and report.carrier_id not in fresh:
                fresh[report.carrier_id] = self.receipt(report)
        if not fresh:
            return 0
        await self.store(list(fresh.values()), source=source)
        return len(fresh)

    async def store(self, receipts: Sequence[Receipt], *, source: str) -> None:
        if self.sink is None:
            raise RuntimeError("ResultTracker.store before the connector runs")
        await self.sink.store_receipts(receipts)
        for r in receipts:
            self._remember(r.carrier_id)
            self._unwatch(r.carrier_id)

    def _remember(self, cid: str) -> None:
        self._seen[cid] = None
        if len(self._seen) > self._seen_limit:
            self._seen.popitem(last=False)

    # ---------------------------------------------------------------- polling
    def watch(self, carrier_ids: Iterable[str]) -> None:
        """Poll these carrier ids (``"{requestId}:{recipientSeq}"``) until final."""
        now = self.clock()
        for cid in carrier_ids:
            request_id, _, seq = cid.rpartition(":")
            if not request_id or not seq.isdigit():
                log.warning("kakao.poll.bad_carrier_id", connector=self.name, carrier_id=cid)
                continue
            w = self._watches.get(request_id)
            if w is None:
                w = self._watches[request_id] = _Watch(set(), now, now + self.config.poll_interval_seconds)
            w.seqs.add(int(seq))

    def _unwatch(self, cid: str) -> None:
        request_id, _, seq = cid.rpartition(":")
        w = self._watches.get(request_id)
        if w is not None and seq.isdigit():
            w.seqs.discard(int(seq))
            if not w.seqs:
                del self._watches[request_id]

    @property
    def watching(self) -> int:
        return sum(len(w.seqs) for w in self._watches.values())

    async def poll_once(self) -> int:
        """Query every due request id once; return the number of receipts stored."""
        stored = 0
        now = self.clock()
        for request_id in [rid for rid, w in self._watches.items() if w.next_at <= now]:
            if not self.may_poll():
                break
            w = self._watches.get(request_id)
            if w is None:
                continue
            try:
                reports = await self.adapter.fetch_results(request_id)
            except ProviderError as exc:
                w.failures += 1
                w.next_at = self.clock() + self.config.poll_interval_seconds * min(2**w.failures, 32)
                metrics.REQUESTS.labels(self.name, "query", "error").inc()
                log.warning("kakao.poll.failed", connector=self.name, request_id=request_id, error=str(exc))
            else:
                metrics.REQUESTS.labels(self.name, "query", "ok").inc()
                w.failures = 0
                wanted = [r for r in reports if r.recipient_seq in w.seqs]
                stored += await self.deliver(wanted, source="poll")
                w.next_at = self.clock() + self.config.poll_interval_seconds
            stored += await self._give_up(request_id)
        return stored

    async def _give_up(self, request_id: str) -> int:
        w = self._watches.get(request_id)
        if w is None or self.clock() - w.since < self.config.poll_give_up_seconds:
            return 0
        receipts = [
            Receipt(
                self.name,
                f"{request_id}:{seq}",
                ReceiptState.UNKNOWN,
                detail={
                    "reason": f"no final result within {self.config.poll_give_up_seconds:.0f} s",
                    "request_id": request_id,
                    "recipient_seq": seq,
                },
            )
            for seq in sorted(w.seqs)
        ]
        log.warning("kakao.poll.gave_up", connector=self.name, request_id=request_id, recipients=len(receipts))
        await self.store(receipts, source="poll")
        return len(receipts)

    async def poll_loop(self) -> None:
        interval = min(self.config.poll_interval_seconds, 1.0)
        while True:
            await self.sleep(interval)
            try:
                await self.poll_once()
            except GatewayError as exc:  # the sink could not store: try again next round
                log.error("kakao.poll.store_failed", connector=self.name, error=str(exc))
