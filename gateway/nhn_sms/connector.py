"""The NHN Cloud SMS connector: Korean SMS, LMS and MMS (and international SMS) through API v3.0.

Flow of one message::

    cost()/send() --plan()--> refused at once (FAILED, no request): type, bytes, encodability
       |         --prepare()--> refused at once: unregistered sender, advertising wording, pictures
       v  (bounded queue: send() blocks while it is full -> backpressure)
    batcher --groups by (endpoint, sendNo, title, body, pictures), up to max_batch,
       |       at most batch_linger_seconds old--> one task per batch
       v
    BatchSender (one try; look-ups instead of blind resends; breaker) --> SendResult
                                                   |
                 results: webhook (http_routes) and the message-results sweep (ResultTracker)

Every message taken by ``send`` gets exactly one ``sink.submit_result``. The
adapter (with its HTTP session), the attachment store, the clocks, the random
source and the sleep function are passed in; by default the adapter is built
from the configuration.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio
import structlog
from aiohttp import web
from anyio.abc import TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from gateway import metrics as gateway_metrics
from gateway.errors import ConnectorClosed, ConnectorError, GatewayError
from gateway.httpclient import BreakerState, CircuitBreaker
from gateway.nhn_sms import metrics
from gateway.nhn_sms.adapter import NhnSmsAdapter
from gateway.nhn_sms.attachments import AttachmentStore, InMemoryAttachmentStore, Uploader
from gateway.nhn_sms.config import NhnSmsConnectorConfig
from gateway.nhn_sms.numbers import NumberBook
from gateway.nhn_sms.prepare import Plan, Prepared, plan, prepare
from gateway.nhn_sms.reasons import NhnReason
from gateway.nhn_sms.results import ResultTracker, webhook_handler
from gateway.nhn_sms.sender import BatchSender
from gateway.port import Connector, OutboundMessage, Outcome, ResultSink, SendResult

__all__ = ["NhnSmsConnector"]

log = structlog.get_logger("gateway.nhn_sms")

_PLAN_CACHE = 16_384  # plans kept between cost() (at claim time) and send()


class NhnSmsConnector(Connector):
    """One NHN Cloud SMS app key (see the module docstring)."""

    def __init__(
        self,
        config: NhnSmsConnectorConfig,
        *,
        attachments: AttachmentStore | None = None,
        adapter: NhnSmsAdapter | None = None,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
    ) -> None:
        self.config = config
        self.name = config.name
        metrics.init_connector(config.name)
        self.channel = config.channel
        self.adapter = adapter if adapter is not None else NhnSmsAdapter.from_config(config)
        self.attachments = attachments if attachments is not None else InMemoryAttachmentStore()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self.breaker = CircuitBreaker(
            failure_threshold=config.breaker_failure_threshold,
            open_seconds=config.breaker_open_seconds,
            clock=clock,
            name=config.name,
            event_prefix="nhn_sms",
            on_change=lambda s: metrics.BREAKER_OPEN.labels(config.name).set(0 if s is BreakerState.CLOSED else 1),
        )
        self.numbers = NumberBook(connector=config.name, adapter=self.adapter, clock=clock)
        self.uploader = Uploader(
            connector=config.name,
            store=self.attachments,
            adapter=self.adapter,
            reuse_seconds=config.upload_reuse_seconds,
            create_user=config.upload_create_user,
            clock=clock,
        )
        self.batch_sender = BatchSender(
            config=config,
            adapter=self.adapter,
            breaker=self.breaker,
            uploader=self.uploader,
            numbers=self.numbers,
            rng=self._rng,
            sleep=sleep,
            wallclock=wallclock,
        )
        self.tracker = ResultTracker(
            config=config,
            adapter=self.adapter,
            may_query=lambda: self.breaker.state is not BreakerState.OPEN,
            sleep=sleep,
            wallclock=wallclock,
        )
        self._plans: dict[int, tuple[OutboundMessage, Plan | SendResult]] = {}
        self._sink: ResultSink | None = None
        self._inbox: MemoryObjectSendStream[Prepared] | None = None
        self._tg: TaskGroup | None = None
        self._running = False
        self._closing = False
        self._outstanding = 0
        self._idle = anyio.Event()
        self._handler = webhook_handler(config=config, tracker=self.tracker)

    # ---------------------------------------------------------------- lifecycle
    async def run(self, sink: ResultSink, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        c = self.config
        async with self.adapter:
            await self.numbers.refresh()
            inbox_send, inbox_recv = anyio.create_memory_object_stream[Prepared](c.queue_size)
            try:
                async with anyio.create_task_group() as tg:
                    self._tg = tg
                    tg.start_soon(self._batcher, inbox_recv)
                    tg.start_soon(self._numbers_loop)
                    tg.start_soon(self.tracker.sweep_loop)
                    tg.start_soon(self._cleanup_loop)
                    self._sink = sink
                    self.tracker.sink = sink
                    self._inbox = inbox_send
                    self._running = True
                    log.info(
                        "nhn_sms.connector.started",
                        connector=self.name,
                        results=c.results,
                        senders_loaded=self.numbers.loaded,
                    )
                    task_status.started()
            finally:
                self._running = False
                self._inbox = None
                self._tg = None
                self.tracker.sink = None  # webhooks after shutdown get 503, not a dead sink
                inbox_send.close()

    def cost(self, message: OutboundMessage) -> int:
        """Rate-limit units: 1 for a Korean SMS, LMS or MMS; the billed parts of an international SMS."""
        planned = self._plan(message)
        return planned.cost if isinstance(planned, Plan) else 1

    @property
    def receipt_timeout(self) -> float | None:
        return self.config.receipt_timeout_seconds

    async def send(self, message: OutboundMessage) -> None:
        if self._closing:
            raise ConnectorClosed(f"nhn_sms connector {self.name} is draining")
        inbox, sink = self._inbox, self._sink
        if inbox is None or sink is None:
            raise ConnectorError(f"nhn_sms connector {self.name} is not running")
        self._outstanding += 1
        try:
            entry = self._plans.pop(message.id, None)
            planned = entry[1] if entry is not None and entry[0] is message else plan(message, self.config)
            result: Prepared | SendResult
            if isinstance(planned, SendResult):
                result = planned
            else:
                pictures = await self.uploader.pictures(planned.attachments) if planned.attachments else {}
                result = prepare(message, planned, numbers=self.numbers, pictures=pictures)
            if isinstance(result, Prepared):
                await inbox.send(result)  # blocks while the queue is full
                return
        except BaseException:
            self._outstanding -= 1
            raise
        kind = str(result.detail.get("message_type", "-")) if result.detail else "-"
        gateway_metrics.SMS_TYPES.labels(self.name, kind, result.outcome.value).inc()
        self._report(result)

    def is_ready(self) -> bool:
        return (
            self._running
            and not self._closing
            and self.numbers.loaded
            and not self.batch_sender.account_error
            and self.breaker.state is not BreakerState.OPEN
        )

    async def drain(self) -> None:
        self._closing = True
        if self._outstanding > 0:
            await self._idle.wait()

    def http_routes(self) -> Sequence[Any]:
        """``POST results``: NHN's result webhook, mounted under ``/reports/{name}/``."""
        if self.config.results != "webhook+sweep":
            return ()
        return [web.post("/results", self._handler)]

    @property
    def outstanding(self) -> int:
        return self._outstanding

    # ---------------------------------------------------------------- internals
    def _plan(self, message: OutboundMessage) -> Plan | SendResult:
        entry = self._plans.get(message.id)
        if entry is not None and entry[0] is message:
            return entry[1]
        planned = plan(message, self.config)
        if len(self._plans) >= _PLAN_CACHE:
            del self._plans[next(iter(self._plans))]
        self._plans[message.id] = (message, planned)
        return planned

    async def _numbers_loop(self) -> None:
        while True:
            wait = 5.0 if (self.numbers.stale or not self.numbers.loaded) else self.config.numbers_refresh_seconds
            await self._sleep(min(wait, self.config.numbers_refresh_seconds))
            if (
                self.numbers.stale
                or not self.numbers.loaded
                or (self._clock() - self.numbers.loaded_at >= self.config.numbers_refresh_seconds)
            ):
                await self.numbers.refresh()

    async def _cleanup_loop(self) -> None:
        while True:
            await self._sleep(3600.0)
            try:
                dropped = await self.attachments.drop_old(self.config.attachment_retention_days)
            except Exception as exc:  # noqa: BLE001 - housekeeping: try again next hour
                log.warning("nhn_sms.attachments.cleanup_failed", connector=self.name, error=repr(exc))
                continue
            if dropped:
                log.info("nhn_sms.attachments.dropped", connector=self.name, count=dropped)

    async def _batcher(self, inbox: MemoryObjectReceiveStream[Prepared]) -> None:
        c = self.config
        groups: dict[tuple[Any, ...], list[Prepared]] = {}
        deadlines: dict[tuple[Any, ...], float] = {}
        while True:
            now = anyio.current_time()
            for key in [k for k, at in deadlines.items() if at <= now]:
                del deadlines[key]
                self._launch(groups.pop(key))
            wait = min(deadlines.values()) - now if deadlines else math.inf
            item: Prepared | None = None
            with anyio.move_on_after(max(wait, 0)):
                try:
                    item = await inbox.receive()
                except anyio.EndOfStream:
                    for key in list(groups):
                        self._launch(groups.pop(key))
                    return
            while item is not None:
                key = item.batch_key
                group = groups.setdefault(key, [])
                if not group:
                    deadlines[key] = anyio.current_time() + c.batch_linger_seconds
                group.append(item)
                if len(group) >= c.max_batch:
                    del deadlines[key]
                    self._launch(groups.pop(key))
                try:
                    item = inbox.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream):
                    item = None

    def _launch(self, items: list[Prepared]) -> None:
        assert self._tg is not None
        self._tg.start_soon(self._process, items)

    async def _process(self, items: list[Prepared]) -> None:
        try:
            results = await self.batch_sender.dispatch(items)
        except (Exception, GatewayError) as exc:  # a bug must not lose the messages: report them as UNKNOWN
            log.exception("nhn_sms.batch.crashed", connector=self.name, recipients=len(items))
            results = [
                SendResult(
                    i.message.id,
                    Outcome.UNKNOWN,
                    reason=NhnReason.INTERNAL_ERROR,
                    retry_after=60.0,
                    detail={"detail": repr(exc)},
                )
                for i in items
            ]
        answered = {r.message_id for r in results}
        for item in items:  # exactly one result per message, whatever happened above
            if item.message.id not in answered:
                results.append(
                    SendResult(
                        item.message.id,
                        Outcome.UNKNOWN,
                        reason=NhnReason.INTERNAL_ERROR,
                        detail={"detail": "no result"},
                    )
                )
        by_id = {i.message.id: i for i in items}
        counts: Counter[tuple[str, str]] = Counter()
        for result in results:
            owner = by_id.get(result.message_id)
            if owner is None:
                continue
            counts[(str(owner.plan.type), result.outcome.value)] += 1
            self._report(result)
        for (kind, outcome), n in counts.items():
            gateway_metrics.SMS_TYPES.labels(self.name, kind, outcome).inc(n)

    def _report(self, result: SendResult) -> None:
        assert self._sink is not None
        self._sink.submit_result(result)
        self._outstanding -= 1
        if self._outstanding == 0 and self._closing:
            self._idle.set()
