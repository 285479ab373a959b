"""Delivery results: from NHN's reports to stored receipts, by webhook and by polling, across restarts.

Reports reach :meth:`ResultTracker.deliver` from the webhook handler or from the
poller. A report with a final code (:func:`gateway.kakao.codes.is_final`)
becomes a receipt (:func:`gateway.kakao.codes.receipt_outcome` says its state
and whether the queue should fall back); receipts are written with ``await
sink.store_receipts(...)`` before anyone is told they were taken, and their
journal rows (:mod:`gateway.kakao.journal`) are marked ``final`` by the poller's
next tick, in one statement. A report stored lately (a webhook repeated, the
gap-filler finding what the webhook brought) is dropped by a bounded memory of
carrier ids and, for the poller, by the journal; beyond them it stays harmless
because the queue matches receipts by carrier id.

The watch list *is* the journal: rows ``accepted`` (no result yet) and
``resending``, in PostgreSQL, so a restart or another instance carries on where
the last one stopped. The poller (:meth:`ResultTracker.poll_loop`), one
instance at a time per connector (a lease in ``gateway.kakao_poll``):

* reads NHN's result-update query (``GET .../message-results``) window after
  window from a persisted cursor (``poll_interval_seconds`` with ``results =
  "poll"``; ``gap_fill_interval_seconds`` behind the webhook, which NHN does not
  promise to retry), two minutes of overlap, one call for every request;
* in provider fallback mode, follows NHN's own SMS resend of a failed message
  (``resendStatus`` of the single-message query, every
  ``resend_check_seconds``) until it ends (RSC01 not a target, RSC04 resent,
  RSC05 resend failed) or ``resend_wait_seconds`` pass, and stores the
  receipt then, with the resend's status, code and request id;
* gives up on a row accepted ``poll_give_up_seconds`` ago (3 days and an hour:
  Kakao keeps an unconfirmed message up to 3 days, code 3005) with an UNKNOWN
  receipt.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import structlog

from gateway.errors import GatewayError
from gateway.httpclient import ProviderError
from gateway.kakao import metrics
from gateway.kakao.codes import classify_code, receipt_outcome
from gateway.kakao.config import KakaoConnectorConfig
from gateway.kakao.journal import Final, Journal, Watched
from gateway.kakao.provider import DeliveryReport, ProviderAdapter
from gateway.port import Receipt, ReceiptState, ResultSink

__all__ = ["RESEND_DONE", "ResultTracker"]

log = structlog.get_logger("gateway.kakao")

RESEND_DONE = frozenset({"RSC01", "RSC04", "RSC05"})  # not a target, resent, resend failed
RESEND_STATUSES = frozenset({"RSC01", "RSC02", "RSC03", "RSC04", "RSC05"})
OVERLAP = timedelta(minutes=2)
MAX_WINDOW = timedelta(days=1)
_BATCH = 1000


class ResultTracker:
    def __init__(
        self,
        *,
        config: KakaoConnectorConfig,
        adapter: ProviderAdapter,
        journal: Journal,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        may_poll: Callable[[], bool] = lambda: True,
        has_auth: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
        seen_limit: int = 200_000,
    ) -> None:
        self.config = config
        self.name = config.name
        self.adapter = adapter
        self.journal = journal
        self.clock = clock
        self.now = now
        self.may_poll = may_poll
        self.has_auth = has_auth
        self.sleep = sleep
        self.sink: ResultSink | None = None
        self.owner = f"{config.name}-{uuid.uuid4().hex[:12]}"
        self._next: dict[str, float] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()  # carrier ids stored lately (repeats skip the journal)
        self._seen_limit = seen_limit
        self._finals: list[Final] = []  # stored as receipts, not marked final in the journal yet

    # ---------------------------------------------------------------- receipts
    def receipt(self, report: DeliveryReport, *, state: ReceiptState | None = None) -> Receipt:
        c = self.config
        info = classify_code(report.code)
        found, fallback = receipt_outcome(
            info, fallback_mode=c.fallback_mode, fallback_on_template_error=c.fallback_on_template_error
        )
        detail: dict[str, Any] = {
            "provider_code": report.code,
            "provider_message": report.message or info.description,
            "class": info.label,
            "scope": info.scope,
            "request_id": report.request_id,
            "recipient_seq": report.recipient_seq,
        }
        for key in ("resend_status", "resend_code", "resend_request_id"):
            value = getattr(report, key)
            if value:
                detail[key] = value
        if not info.documented:
            log.warning("kakao.code.unknown", connector=self.name, code=report.code, stage="result")
        return Receipt(
            self.name,
            report.carrier_id,
            state or found or ReceiptState.UNKNOWN,
            code=report.code,
            done_at=report.done_at,
            detail=detail,
            fallback=fallback,
        )

    def _tracks_resend(self, report: DeliveryReport) -> bool:
        """Provider fallback mode: does NHN's own SMS resend follow this failure?"""
        c = self.config
        if c.fallback_mode != "provider" or c.resend_wait_seconds <= 0 or report.resend_status in RESEND_DONE:
            return False
        state, _ = receipt_outcome(
            classify_code(report.code), fallback_mode="provider", fallback_on_template_error=False
        )
        return state in (ReceiptState.FAILED, ReceiptState.UNDELIVERABLE)

    async def deliver(self, reports: Iterable[DeliveryReport], *, source: str) -> int:
        """Store the final reports not stored yet; return how many were taken (stored or tracked)."""
        finals: dict[str, DeliveryReport] = {}
        for report in reports:
            if report.final and report.carrier_id not in finals and report.carrier_id not in self._seen:
                finals[report.carrier_id] = report
        if not finals:
            return 0
        rows: dict[str, Watched] = {}
        if source != "webhook" or self.config.fallback_mode == "provider":
            # the webhook in gateway mode needs no journal read: a repeat is dropped by the queue
            rows = await self.journal.by_carrier(self.name, [(r.request_id, r.recipient_seq) for r in finals.values()])
        store: list[DeliveryReport] = []
        track: list[DeliveryReport] = []
        for cid, report in finals.items():
            row = rows.get(cid)
            if row is not None and row.state in ("final", "resending"):
                continue
            if row is not None and self._tracks_resend(report):
                track.append(report)
            else:
                store.append(report)
        if track:
            await self.journal.resending(
                self.name,
                [Final(r.request_id, r.recipient_seq, r.code, r.done_at, r.resend_status) for r in track],
            )
            log.info("kakao.resend.tracking", connector=self.name, recipients=len(track), source=source)
        if store:
            await self.store([self.receipt(r) for r in store], source=source, reports=store)
        return len(store) + len(track)

    async def store(self, receipts: Sequence[Receipt], *, source: str, reports: Sequence[DeliveryReport] = ()) -> None:
        if self.sink is None:
            raise RuntimeError("ResultTracker.store before the connector runs")
        await self.sink.store_receipts(receipts)
        for r in receipts:
            self._seen[r.carrier_id] = None
        while len(self._seen) > self._seen_limit:
            self._seen.popitem(last=False)
        self._finals.extend(
            Final(r.request_id, r.recipient_seq, r.code, r.done_at, r.resend_status, r.resend_code, r.resend_request_id)
            for r in reports
        )

    async def flush_finals(self) -> int:
        """Mark the journal rows of stored results final, in one statement (the poller does it every tick).

        Done after the receipts, not before answering the webhook: a row left 'accepted' by a
        crash is at worst read again by the gap-filler, and its repeated receipt is dropped."""
        finals, self._finals = self._finals, []
        if not finals:
            return 0
        try:
            with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                await self.journal.final(self.name, finals)
        except GatewayError as exc:
            log.error("kakao.journal.write_failed", connector=self.name, what="final", error=str(exc))
            self._finals[:0] = finals[-100_000:]  # tried again next tick
            return 0
        return len(finals)

    # ---------------------------------------------------------------- polling
    def _due(self, what: str, every: float) -> bool:
        now = self.clock()
        if every <= 0 or self._next.get(what, 0.0) > now:
            return False
        self._next[what] = now + every
        return True

    async def poll_once(self, *, force: bool = False) -> int:
        """One round of every due job; return the number of receipts stored or resends taken."""
        c = self.config
        taken = 0
        await self.flush_finals()
        if self.may_poll() and (force or self._due("updates", c.results_interval)):
            taken += await self.read_updates()
        if c.fallback_mode == "provider" and self.may_poll() and (force or self._due("resends", 1.0)):
            taken += await self.follow_resends()
        if force or self._due("give_up", min(60.0, c.poll_give_up_seconds / 4)):
            taken += await self.give_up()
        if self._due("gauge", 30.0):
            accepted, resending, _ = await self.journal.watching(self.name)
            metrics.WATCHED.labels(self.name, "accepted").set(accepted)
            metrics.WATCHED.labels(self.name, "resending").set(resending)
        if self._due("prune", 3600.0):
            pruned = await self.journal.prune(self.name, c.journal_retention_days)
            if pruned:
                log.info("kakao.journal.pruned", connector=self.name, rows=pruned)
        return taken

    async def read_updates(self) -> int:
        """Read NHN's result updates from the persisted cursor (one instance at a time)."""
        c = self.config
        interval = c.results_interval or 60.0
        mine, cursor, _ = await self.journal.poll_claim(self.name, self.owner, max(3 * interval, 30.0))
        if not mine:
            return 0
        now = self.now()
        accepted, _, oldest = await self.journal.watching(self.name)
        if not accepted or oldest is None:  # nothing waits for a result: no update before now matters
            await self.journal.poll_advance(self.name, self.owner, now)
            return 0
        # A result is updated after its acceptance: no window needs to start before the oldest
        # row still waiting. Behind a webhook, give it its chance first.
        grace = 0.0 if c.results == "poll" else interval
        if (now - oldest).total_seconds() < grace:
            return 0
        since = max(cursor or oldest, oldest) - OVERLAP
        until = min(now, since + MAX_WINDOW)
        kinds = (False, True) if self.has_auth() else (False,)
        reports: list[DeliveryReport] = []
        started = time.perf_counter()
        try:
            for auth in kinds:
                reports.extend(await self.adapter.fetch_updates(since, until, auth=auth))
        except ProviderError as exc:
            metrics.REQUESTS.labels(self.name, "results", "error").inc()
            log.warning("kakao.poll.failed", connector=self.name, error=str(exc))
            return 0
        finally:
            metrics.REQUEST_SECONDS.labels(self.name, "results").observe(time.perf_counter() - started)
        metrics.REQUESTS.labels(self.name, "results", "ok").inc()
        finals = [r for r in reports if r.final]
        taken = 0
        for start in range(0, len(finals), _BATCH):
            chunk = finals[start : start + _BATCH]
            rows = await self.journal.by_carrier(self.name, [(r.request_id, r.recipient_seq) for r in chunk])
            ours = [r for r in chunk if r.carrier_id in rows and rows[r.carrier_id].state == "accepted"]
            taken += await self.deliver(ours, source="poll")
        await self.journal.poll_advance(self.name, self.owner, until)
        if taken:
            log.info("kakao.poll.results", connector=self.name, stored=taken, window_end=until.isoformat())
        return taken

    async def follow_resends(self) -> int:
        """Look at NHN's SMS resends being tracked; store the receipt of those that ended or waited too long."""
        c = self.config
        due = await self.journal.due_resends(self.name, c.resend_check_seconds, 100)
        done: list[tuple[DeliveryReport, Watched]] = []
        looked: list[tuple[str, int, str | None]] = []
        now = self.now()
        for row in due:
            try:
                report = await self.adapter.fetch_one(row.request_id, row.recipient_seq, auth=row.auth)
            except ProviderError as exc:
                metrics.REQUESTS.labels(self.name, "resend", "error").inc()
                log.warning("kakao.resend.query_failed", connector=self.name, error=str(exc))
                break
            metrics.REQUESTS.labels(self.name, "resend", "ok").inc()
            status = report.resend_status if report is not None else None
            waited = row.result_at is not None and (now - row.result_at).total_seconds() >= c.resend_wait_seconds
            if status in RESEND_DONE or waited:
                done.append((self._resend_report(row, report), row))
            else:
                looked.append((row.request_id, row.recipient_seq, status))
        await self.journal.looked(self.name, looked)
        if not done:
            return 0
        reports = [r for r, _ in done]
        for r in reports:
            label = r.resend_status if r.resend_status in RESEND_STATUSES else "unknown"  # bounded
            metrics.RESENDS.labels(self.name, label).inc()
            log.info(
                "kakao.resend.finished",
                connector=self.name,
                request_id=r.request_id,
                recipient_seq=r.recipient_seq,
                resend_status=r.resend_status or "unknown",
                resend_code=r.resend_code,
            )
        await self.store([self.receipt(r) for r in reports], source="resend", reports=reports)
        return len(reports)

    @staticmethod
    def _resend_report(row: Watched, report: DeliveryReport | None) -> DeliveryReport:
        """The receipt's report: the Kakao result kept in the journal, with the resend as NHN last told it."""
        return DeliveryReport(
            carrier_id=row.carrier_id,
            request_id=row.request_id,
            recipient_seq=row.recipient_seq,
            code=row.result_code,
            message=report.message if report is not None else "",
            final=True,
            done_at=row.result_at,
            resend_status=report.resend_status if report is not None else None,
            resend_code=report.resend_code if report is not None else None,
            resend_request_id=report.resend_request_id if report is not None else None,
        )

    async def give_up(self) -> int:
        """Rows accepted ``poll_give_up_seconds`` ago without any result: UNKNOWN receipts."""
        c = self.config
        stale = await self.journal.stale(self.name, c.poll_give_up_seconds, _BATCH)
        if not stale:
            return 0
        reports = [
            DeliveryReport(w.carrier_id, w.request_id, w.recipient_seq, None, "", final=True, auth=w.auth)
            for w in stale
        ]
        receipts = [
            Receipt(
                self.name,
                w.carrier_id,
                ReceiptState.UNKNOWN,
                detail={
                    "reason": f"no result from NHN within {c.poll_give_up_seconds:.0f} s",
                    "request_id": w.request_id,
                    "recipient_seq": w.recipient_seq,
                },
            )
            for w in stale
        ]
        log.warning("kakao.poll.gave_up", connector=self.name, recipients=len(receipts))
        await self.store(receipts, source="give_up", reports=reports)
        return len(receipts)

    async def poll_loop(self) -> None:
        tick = min(1.0, self.config.resend_check_seconds, self.config.results_interval or 1.0)
        try:
            while True:
                await self.sleep(tick)
                try:
                    await self.poll_once()
                except GatewayError as exc:  # the sink or the journal could not store: try again next round
                    log.error("kakao.poll.store_failed", connector=self.name, error=str(exc))
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await self.flush_finals()
                try:
                    await self.journal.poll_release(self.name, self.owner)
                except GatewayError:
                    pass  # the lease runs out by itself
