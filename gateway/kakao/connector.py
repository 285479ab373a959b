"""The Kakao Alimtalk connector: takes messages, batches them, reports outcomes.

Flow of one message::

    send() --prepare()--> refused at once (FAILED, maybe with its fallback; no request)
       |
       v  (bounded queue: send() blocks while it is full -> backpressure)
    batcher --groups by (sender profile, template), up to max_batch, at most
       |       batch_linger_seconds old--> batches (unbuffered)
       v
    workers x max_concurrent_requests --BatchSender (journal, lookups, retries, breaker)--> SendResult
                                                   |
                  results: webhook (http_routes) and the poller (ResultTracker), both
                  working from the send journal in PostgreSQL (gateway.kakao.journal)

Every message taken by ``send`` gets exactly one ``sink.submit_result``.
The provider adapter (with its HTTP session), the template store, the send
journal, the clock, the random source and the sleep function are passed in; by
default the NHN adapter is built from the configuration when ``run`` starts,
and the journal is in memory (the daemon passes :class:`PostgresJournal`).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import structlog
from aiohttp import web
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from gateway.errors import ConnectorClosed, ConnectorError, GatewayError
from gateway.httpclient import BreakerState
from gateway.kakao import metrics
from gateway.kakao.batch_sender import BatchSender, KakaoBreaker
from gateway.kakao.config import KakaoConnectorConfig
from gateway.kakao.journal import InMemoryJournal, Journal
from gateway.kakao.nhn import NhnAlimtalkAdapter
from gateway.kakao.prepare import Prepared, prepare
from gateway.kakao.provider import ProviderAdapter, TemplateUpdate
from gateway.kakao.reasons import KakaoReason
from gateway.kakao.results import ResultTracker
from gateway.kakao.template_store import TemplateStore, status_from_nhn
from gateway.kakao.templates import TemplateRegistry
from gateway.kakao.webhook import webhook_handler
from gateway.port import Connector, ConnectorHealth, OutboundMessage, Outcome, ResultSink, SendResult

__all__ = ["KakaoConnector"]

log = structlog.get_logger("gateway.kakao")

_Group = tuple[str, str, bool]  # (sender_key, template_code, auth)


class KakaoConnector(Connector):
    """One Alimtalk provider account (see the module docstring)."""

    def __init__(
        self,
        config: KakaoConnectorConfig,
        templates: TemplateStore,
        *,
        adapter: ProviderAdapter | None = None,
        journal: Journal | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
    ) -> None:
        self.config = config
        self.name = config.name
        self.channel = config.channel
        self._store = templates
        self._adapter = adapter if adapter is not None else NhnAlimtalkAdapter.from_config(config)
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._sleep = sleep
        self.journal: Journal = journal if journal is not None else InMemoryJournal()
        self.registry = TemplateRegistry(
            multiline=config.template_variables_multiline, max_body_chars=config.max_body_chars
        )
        self.breaker = KakaoBreaker(
            failure_threshold=config.breaker_failure_threshold,
            open_seconds=config.breaker_open_seconds,
            clock=clock,
            name=config.name,
            on_change=lambda s: metrics.BREAKER_OPEN.labels(config.name).set(0 if s is BreakerState.CLOSED else 1),
        )
        self.batch_sender = BatchSender(
            config=config,
            adapter=self._adapter,
            breaker=self.breaker,
            journal=self.journal,
            rng=self._rng,
            sleep=sleep,
        )
        self.tracker = ResultTracker(
            config=config,
            adapter=self._adapter,
            journal=self.journal,
            clock=clock,
            may_poll=lambda: self.breaker.state is not BreakerState.OPEN,
            has_auth=lambda: self._has_auth,
            sleep=sleep,
        )
        self._has_auth = False
        self._sink: ResultSink | None = None
        self._inbox: MemoryObjectSendStream[Prepared] | None = None
        self._running = False
        self._closing = False
        self._outstanding = 0
        self._idle = anyio.Event()
        self._handler = webhook_handler(
            config=config, adapter=self._adapter, tracker=self.tracker, templates=self.template_updates
        )
        metrics.init_connector(config.name)
        self._result_counters = {o: metrics.RESULTS.labels(config.name, o.value) for o in Outcome}

    # ---------------------------------------------------------------- lifecycle
    async def run(self, sink: ResultSink, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        c = self.config
        async with self._adapter:
            await self._first_template_load()
            inbox_send, inbox_recv = anyio.create_memory_object_stream[Prepared](c.queue_size)
            batch_send, batch_recv = anyio.create_memory_object_stream[list[Prepared]](0)
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._batcher, inbox_recv, batch_send)
                    for _ in range(c.max_concurrent_requests):
                        tg.start_soon(self._worker, batch_recv.clone())
                    batch_recv.close()
                    tg.start_soon(self._template_refresher)
                    tg.start_soon(self.tracker.poll_loop)
                    self._sink = sink
                    self.tracker.sink = sink
                    self._inbox = inbox_send
                    self._running = True
                    log.info(
                        "kakao.connector.started",
                        connector=self.name,
                        results=c.results,
                        fallback_mode=c.fallback_mode,
                        templates=len(self.registry),
                    )
                    task_status.started()
            finally:
                self._running = False
                self._inbox = None
                self.tracker.sink = None  # webhooks after shutdown get 503, not a dead sink
                inbox_send.close()

    async def send(self, message: OutboundMessage) -> None:
        if self._closing:
            raise ConnectorClosed(f"kakao connector {self.name} is draining")
        inbox, sink = self._inbox, self._sink
        if inbox is None or sink is None:
            raise ConnectorError(f"kakao connector {self.name} is not running")
        self._outstanding += 1
        try:
            prepared = prepare(message, config=self.config, registry=self.registry)
            if not isinstance(prepared, SendResult):
                await inbox.send(prepared)  # blocks while the queue is full
                return
        except BaseException:
            self._outstanding -= 1
            raise
        self._report(prepared)

    def is_ready(self) -> bool:
        return self._running and not self._closing and self.breaker.state is not BreakerState.OPEN

    def health(self) -> ConnectorHealth:
        state = self.breaker.state
        return ConnectorHealth(
            ready=self.is_ready(),
            in_flight=self._outstanding,
            capacity=self.config.queue_size,
            last_error=None if state is BreakerState.CLOSED else f"circuit breaker {state.value}",
            detail={"breaker": state.value},
        )

    async def drain(self) -> None:
        self._closing = True
        if self._outstanding > 0:
            await self._idle.wait()

    def http_routes(self) -> Sequence[Any]:
        """``POST results``: mount under ``/reports/{name}/`` (see gateway.kakao.webhook)."""
        return [web.post("/results", self._handler)]

    @property
    def receipt_timeout(self) -> float:
        """The queue's receipt timeout: after the poller's own give-up (Kakao's 3 days), never before it."""
        return self.config.poll_give_up_seconds + 3600.0

    @property
    def outstanding(self) -> int:
        """Messages taken whose SendResult has not been reported yet."""
        return self._outstanding

    # ---------------------------------------------------------------- templates
    async def refresh_templates(self) -> int:
        templates = await self._store.load()
        self.registry = TemplateRegistry.build(
            templates, multiline=self.config.template_variables_multiline, max_body_chars=self.config.max_body_chars
        )
        self._has_auth = any(t.auth for t in templates)
        log.info("kakao.templates.loaded", connector=self.name, templates=len(self.registry))
        return len(self.registry)

    async def template_updates(self, updates: Sequence[TemplateUpdate]) -> int:
        """NHN's template-status hook: update the store, then the registry at once."""
        changed = await self._store.update_statuses(updates)
        for u in updates:
            metrics.TEMPLATE_UPDATES.labels(self.name, status_from_nhn(u.status)).inc()  # bounded: our statuses
        if changed:
            await self.refresh_templates()
        return changed

    async def _first_template_load(self) -> None:
        attempt = 0
        while True:
            try:
                await self.refresh_templates()
                return
            except GatewayError as exc:
                delay = min(30.0, 0.5 * 2**attempt)
                log.error("kakao.templates.load_failed", connector=self.name, error=str(exc), retry_in=delay)
                attempt += 1
                await self._sleep(delay)

    async def _template_refresher(self) -> None:
        while True:
            await self._sleep(self.config.template_refresh_seconds)
            try:
                await self.refresh_templates()
            except GatewayError as exc:
                log.warning("kakao.templates.refresh_failed", connector=self.name, error=str(exc))

    # ---------------------------------------------------------------- batching
    async def _batcher(
        self, inbox: MemoryObjectReceiveStream[Prepared], batches: MemoryObjectSendStream[list[Prepared]]
    ) -> None:
        c = self.config
        max_batch = min(c.max_batch, self._adapter.max_batch)
        groups: dict[_Group, list[Prepared]] = {}
        deadlines: dict[_Group, float] = {}
        async with batches:
            while True:
                now = anyio.current_time()
                due = [g for g, at in deadlines.items() if at <= now]
                for g in due:
                    del deadlines[g]
                    await batches.send(groups.pop(g))
                wait = min(deadlines.values()) - now if deadlines else math.inf
                item: Prepared | None = None
                with anyio.move_on_after(max(wait, 0)):
                    try:
                        item = await inbox.receive()
                    except anyio.EndOfStream:
                        for g in list(groups):
                            await batches.send(groups.pop(g))
                        return
                while item is not None:
                    key = (item.sender_key, item.template_code, item.auth)
                    group = groups.setdefault(key, [])
                    if not group:
                        deadlines[key] = anyio.current_time() + c.batch_linger_seconds
                    group.append(item)
                    if len(group) >= max_batch:
                        del deadlines[key]
                        await batches.send(groups.pop(key))
                    try:
                        item = inbox.receive_nowait()
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        item = None

    async def _worker(self, batches: MemoryObjectReceiveStream[list[Prepared]]) -> None:
        async with batches:
            async for items in batches:
                await self._process(items)

    async def _process(self, items: list[Prepared]) -> None:
        first = items[0]
        try:
            results = await self.batch_sender.send(items)
        except Exception as exc:  # a bug must not lose the messages: report them as UNKNOWN
            log.exception("kakao.batch.crashed", connector=self.name, recipients=len(items))
            results = [
                SendResult(
                    i.message.id, Outcome.UNKNOWN, reason=KakaoReason.INTERNAL_ERROR, detail={"detail": repr(exc)}
                )
                for i in items
            ]
        log.debug("kakao.batch.done", connector=self.name, template=first.template_code, recipients=len(items))
        for result in results:
            self._report(result)

    def _report(self, result: SendResult) -> None:
        assert self._sink is not None
        self._sink.submit_result(result)
        self._result_counters[result.outcome].inc()
        self._outstanding -= 1
        if self._outstanding == 0 and self._closing:
            self._idle.set()
