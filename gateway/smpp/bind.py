"""One SMPP bind: connect, bind, keep the link, submit, take deliveries, reconnect (the async shell).

A ``Bind`` drives one sans-I/O ``EsmeSession`` per connection over a
``transport.Connection``. Its lifecycle (``run``) is a loop: connect, send the
bind PDU, serve until the link ends (peer unbind, EOF, a fatal protocol error,
an unanswered enquire_link, ``stop``), report what was in flight, then wait an
exponential backoff with jitter and start over. A refused bind (wrong password)
is logged and retried the same way; nothing escapes ``run`` but cancellation.

Bytes in are handled synchronously in the connection's callback: every event
of the chunk is dispatched at once (submit responses straight to the
``BindHandler``), and the answers go out in one write. Submits wait in an
ordered queue and enter the session's window as it frees (``enqueue`` /
``_pump``), so a multipart message's segments leave on this bind in order.
A throttled bind ``pause``s: it sends nothing until the pause ends.

Operators' controls: ``suspend`` stops taking submits, lets the window drain
(at most ``response_timeout_seconds``), unbinds, and keeps the bind down until
``resume``; ``rebind`` does the same and binds again at once. A bind created
with ``enabled=False`` stays down until ``resume`` (a cluster-wide bind budget
gives it a slot first).

deliver_sm / data_sm are not handled in the callback: they are appended to an
inbox that a separate task hands to the handler in batches (up to
``receipt_batch_max`` PDUs, collected for up to ``receipt_batch_max_wait_ms``,
at most ``receipt_store_concurrency`` batches being stored at once), so the
read path keeps taking submit responses while batches are being stored.
The handler acknowledges each ``Delivery`` itself, after storing it.

Sequence of a link's end: the session's outstanding submits come back from
``connection_lost`` and go to ``handler.submit_lost`` (outcome unknown), the
queued ones that never left go to ``handler.submit_unsent``.
"""

from __future__ import annotations

import random
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Literal, Protocol

import anyio
import structlog

from gateway.backoff import Backoff
from gateway.smpp import metrics
from gateway.smpp.config import SmppConnectorConfig
from gateway.smpp.protocol.codec import NEED_DATA
from gateway.smpp.protocol.errors import LocalProtocolError
from gateway.smpp.protocol.events import (
    BindComplete,
    BindFailed,
    Closed,
    DataSmReceived,
    DeliverSmReceived,
    Event,
    GenericNackReceived,
    PeerUnbound,
    ProtocolErrorEvent,
    QueryResponse,
    ResponseTimeout,
    SubmitResponse,
    UnbindComplete,
    UnmatchedResponse,
)
from gateway.smpp.protocol.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DataSm,
    DeliverSm,
    EnquireLink,
    Pdu,
    QuerySm,
    SubmitSm,
    Unbind,
)
from gateway.smpp.protocol.session import EsmeSession
from gateway.smpp.protocol.status import status_name
from gateway.smpp.transport import Connection, TransportError, open_connection

__all__ = ["Bind", "BindHandler", "Delivery", "Role"]

log = structlog.get_logger("gateway.smpp")

Role = Literal["trx", "tx", "rx"]
_BIND_PDUS: dict[str, type[Pdu]] = {"trx": BindTransceiver, "tx": BindTransmitter, "rx": BindReceiver}
Connect = Callable[..., Awaitable[Connection]]


class BindHandler(Protocol):
    """What a bind reports to (the connector). All but ``deliveries`` are called synchronously."""

    def submit_answered(self, bind: Bind, context: Any, response: Pdu, elapsed: float) -> None:
        """A submit_sm got its response, or a generic_nack (``response`` is then a ``GenericNack``)."""

    def submit_lost(self, bind: Bind, context: Any, why: str) -> None:
        """A submit_sm was sent and will never be answered: ``why`` is ``timeout`` or ``connection_lost``."""

    def submit_unsent(self, bind: Bind, context: Any) -> None:
        """A queued submit_sm never left: the link ended first."""

    def space_changed(self) -> None:
        """Window space may have appeared (responses, a new bind, a pause that ended)."""

    def link_down(self, bind: Bind, reason: str, sent: int, answered: int) -> None:
        """A bound link ended (``reason`` as in ``smpp.bind.down``) after ``sent`` submits, ``answered`` of them."""

    async def deliveries(self, bind: Bind, batch: list[Delivery]) -> None:
        """Store a batch of deliver_sm / data_sm, then ``ack`` each one."""


class _Link:
    """One connection and its session (a bind has one at a time)."""

    __slots__ = (
        "answered",
        "bound",
        "changed",
        "conn",
        "done",
        "reason",
        "sent",
        "session",
        "submitting",
        "unbound",
    )

    def __init__(self, session: EsmeSession) -> None:
        self.session = session
        self.sent = 0  # submits written on this link
        self.answered = 0  # of them, answered with a submit_sm_resp
        self.conn: Connection | None = None
        self.bound = False
        self.submitting = False
        self.changed = anyio.Event()  # bound, or done
        self.done = anyio.Event()
        self.unbound = anyio.Event()
        self.reason = ""

    def finish(self, reason: str) -> None:
        if not self.done.is_set():
            self.reason = reason
            self.submitting = False
            self.done.set()
            self.changed.set()
            self.unbound.set()

    def ack(self, pdu: DeliverSm | DataSm, status: int) -> bool:
        conn = self.conn
        if conn is None or conn.is_closing:
            return False
        try:
            conn.write(self.session.ack_deliver(pdu, status))
        except LocalProtocolError:
            return False
        return True


class Delivery:
    """A deliver_sm / data_sm waiting to be stored; ``ack`` answers it on the link it came in on."""

    __slots__ = ("_link", "pdu")

    def __init__(self, pdu: DeliverSm | DataSm, link: _Link) -> None:
        self.pdu = pdu
        self._link = link

    def ack(self, status: int = 0) -> bool:
        """Write the deliver_sm_resp / data_sm_resp; False if the link is gone (the SMSC will resend)."""
        return self._link.ack(self.pdu, status)


class Bind:
    """One bind of a connector (see the module docstring)."""

    def __init__(
        self,
        config: SmppConnectorConfig,
        handler: BindHandler,
        *,
        index: int,
        role: Role,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        ssl_context: ssl.SSLContext | None = None,
        connect: Connect = open_connection,
        enabled: bool = True,
    ) -> None:
        self.config = config
        self.index = index
        self.label = str(index)
        self.role = role
        self._handler = handler
        self._clock = clock
        self._rng = rng or random.Random()
        self._backoff = Backoff(
            config.reconnect_initial_seconds, config.reconnect_max_seconds, jitter=config.reconnect_jitter
        )
        self._ssl = ssl_context
        self._connect = connect
        self._link: _Link | None = None  # the current link, whatever its state
        self._queue: deque[tuple[Any, SubmitSm]] = deque()
        self._paused_until = 0.0
        self._hold_until = 0.0  # no new link before this (the connector's breaker)
        self._kick = anyio.Event()  # wakes the timer loop (a pause started)
        self._inbox: list[Delivery] = []
        self._inbox_ready = anyio.Event()
        self._stopping = False
        self._stop = anyio.Event()
        self._enabled = enabled
        self._restart = False
        self._wakeup = anyio.Event()  # stop, resume or rebind: end a back-off or an idle wait
        self.state = "down"
        self.failures = 0  # consecutive attempts that did not bind
        self.last_error: str | None = None  # the latest reason it went down or failed to bind
        self.last_error_at: float | None = None  # Unix time
        self._tick = min(0.5, config.response_timeout_seconds / 4, config.enquire_link_seconds / 4)
        self._log = log.bind(connector=config.name, bind=self.label, role=role)
        self._state_gauges = {s: metrics.BIND_STATE.labels(config.name, self.label, s) for s in metrics.BIND_STATES}
        self._set_state("down")

    # -- the submit side (synchronous) ----------------------------------------------

    @property
    def is_bound(self) -> bool:
        link = self._link
        return link is not None and link.submitting

    @property
    def in_flight(self) -> int:
        """Segments taken by this bind and not answered yet (sent or queued)."""
        link = self._link
        sent = link.session.window - link.session.window_free if link is not None else 0
        return sent + len(self._queue)

    def capacity(self, now: float) -> int:
        """How many more segments this bind takes now (0 when down, paused, or its window is spoken for)."""
        link = self._link
        if link is None or not link.submitting or self._paused_until > now or link.conn.paused:  # type: ignore[union-attr]
            return 0
        return link.session.window_free - len(self._queue)

    def enqueue(self, items: list[tuple[Any, SubmitSm]]) -> None:
        """Queue submit_sm PDUs (with their context) to go out in order as the window frees."""
        self._queue.extend(items)
        self._pump()

    def query(self, pdu: QuerySm, answered: Callable[[Pdu | None], None]) -> bool:
        """Send a query_sm now if the window has room (False if not); ``answered`` gets its
        query_sm_resp or generic_nack, or None when it timed out or the link was lost."""
        link = self._link
        if link is None or not link.submitting or self.capacity(self._clock()) <= 0:
            return False
        try:
            data = link.session.send(pdu, self._clock(), context=answered)
        except LocalProtocolError:
            return False
        link.conn.write(data)  # type: ignore[union-attr]
        return True

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (the SMSC asked us to slow down)."""
        until = self._clock() + seconds
        if until > self._paused_until:
            self._paused_until = until
            self._kick.set()

    def hold(self, seconds: float) -> None:
        """Send nothing and open no new link for ``seconds`` (the connector's breaker tripped)."""
        self.pause(seconds)
        self._hold_until = max(self._hold_until, self._clock() + seconds)

    def _pump(self) -> None:
        link = self._link
        queue = self._queue
        if not queue or link is None or not link.submitting:
            return
        now = self._clock()
        if self._paused_until > now:
            return
        session = link.session
        free = session.window_free
        if free <= 0:
            return
        out = []
        send = session.send
        try:
            while queue and free > 0:
                context, pdu = queue[0]
                out.append(send(pdu, now, context=(context, now)))
                queue.popleft()
                free -= 1
        except LocalProtocolError as exc:  # the session left the bound state under us: end this link
            self._log.warning("smpp.bind.submit_refused_locally", error=exc.message)
            link.finish("local_protocol_error")
        link.sent += len(out)
        link.conn.write(b"".join(out))  # type: ignore[union-attr]

    # -- the receive side (synchronous, in the connection's callback) ----------------

    def _on_data(self, link: _Link, data: bytes) -> None:
        session = link.session
        now = self._clock()
        session.receive_data(data, now)
        handler = self._handler
        answered = False
        while True:
            event = session.next_event()
            if event is NEED_DATA:
                break
            if type(event) is SubmitResponse:
                context, sent_at = event.context
                handler.submit_answered(self, context, event.response, now - sent_at)
                link.answered += 1
                answered = True
            elif type(event) is QueryResponse:
                event.context(event.response)
                answered = True
            else:
                answered |= self._on_event(link, event)
        self._after(link, answered)

    def _after(self, link: _Link, answered: bool) -> None:
        out = link.session.data_to_send()
        if out and link.conn is not None:
            link.conn.write(out)
        if link.session.closed:
            link.finish(link.reason or "session_closed")
        elif answered:
            self._pump()
            self._handler.space_changed()

    def _on_event(self, link: _Link, event: Event) -> bool:
        """Handle anything but a SubmitResponse; True if a window slot was freed."""
        if isinstance(event, (DeliverSmReceived, DataSmReceived)):
            self._inbox.append(Delivery(event.pdu, link))
            self._inbox_ready.set()
        elif isinstance(event, GenericNackReceived):
            if isinstance(event.request, QuerySm):
                event.context(event.nack)
                return True
            if event.context is not None:  # the answer to one of our submits: refused, not lost
                context, sent_at = event.context
                self._handler.submit_answered(self, context, event.nack, self._clock() - sent_at)
                return True
            self._log.warning("smpp.bind.generic_nack", status=status_name(event.nack.command_status))
        elif isinstance(event, ResponseTimeout):
            request = event.request
            if isinstance(request, QuerySm):
                event.context(None)
                return True
            if isinstance(request, (SubmitSm, DataSm)) and event.context is not None:
                self._handler.submit_lost(self, event.context[0], "timeout")
                return True
            if not isinstance(request, Unbind):
                self._log.warning("smpp.bind.timeout", request=request.command_name)
            link.finish("keepalive_timeout" if isinstance(request, EnquireLink) else f"{request.command_name}_timeout")
        elif isinstance(event, BindComplete):
            link.bound = True
            link.changed.set()
        elif isinstance(event, BindFailed):
            status = event.response.command_status
            self._log.warning("smpp.bind.refused", status=status_name(status), code=f"0x{status:08x}")
            self._error(f"bind refused: {status_name(status)}")
            metrics.count_command_status(self.config.name, "bind", status)
            link.finish("bind_refused")
        elif isinstance(event, PeerUnbound):
            self._log.info("smpp.bind.peer_unbound")
            link.finish("peer_unbound")
        elif isinstance(event, UnbindComplete):
            link.finish("unbound")
        elif isinstance(event, Closed):
            link.finish("closed" if event.expected else "peer_closed")
        elif isinstance(event, ProtocolErrorEvent):
            error = event.error
            self._log.warning("smpp.bind.protocol_error", status=status_name(error.error_status), fatal=error.fatal)
            if error.fatal:
                link.finish("protocol_error")
        elif isinstance(event, UnmatchedResponse):
            self._log.debug("smpp.bind.unmatched_response", command=event.response.command_name)
        return False

    # -- lifecycle ---------------------------------------------------------------------

    def _error(self, what: str) -> None:
        self.last_error = what
        self.last_error_at = time.time()

    @property
    def enabled(self) -> bool:
        """False while suspended (an operator's pause of binds, or no slot in the account's budget)."""
        return self._enabled

    @property
    def active(self) -> bool:
        """Connected or trying to be (what counts against the carrier's bind allowance)."""
        return self._link is not None

    def _wake(self) -> None:
        self._wakeup.set()

    async def suspend(self) -> None:
        """Unbind once the window has drained, and stay down until :meth:`resume`."""
        self._enabled = False
        self._wake()
        await self._end_link()

    def resume(self) -> None:
        """Bind again after :meth:`suspend` (or a start with ``enabled=False``)."""
        if not self._enabled:
            self._enabled = True
            self._wake()

    async def rebind(self) -> None:
        """Drain the window, unbind, and bind again at once (the back-off is skipped)."""
        if self._link is None:
            self._wake()
            return
        self._restart = True
        await self._end_link()

    async def _end_link(self) -> None:
        link = self._link
        if link is None or link.done.is_set():
            return
        link.submitting = False  # the connector picks other binds from now on
        with anyio.move_on_after(self.config.response_timeout_seconds):
            # The sans-I/O session has no event for "window empty"; a rare operator's action polls it.
            while not link.done.is_set() and link.session.window_free < link.session.window:  # noqa: ASYNC110
                await anyio.sleep(0.02)
        await self._unbind(link)
        link.finish(link.reason or "closed")

    async def _unbind(self, link: _Link) -> None:
        """Send unbind on a bound link and wait for its answer (at most ``unbind_timeout_seconds``)."""
        if link.bound and not link.done.is_set() and link.conn is not None:
            self._set_state("unbinding")
            try:
                link.conn.write(link.session.send(Unbind(), self._clock()))
            except LocalProtocolError:
                link.finish("closed")
            with anyio.move_on_after(self.config.unbind_timeout_seconds):
                await link.unbound.wait()
            self._log.info("smpp.bind.unbound", answered=link.reason == "unbound")

    def _set_state(self, state: str) -> None:
        old = self.state
        self.state = state
        self._state_gauges[old].set(0)
        self._state_gauges[state].set(1)

    def backoff(self, failures: int) -> float:
        """Seconds to wait before the next attempt after ``failures`` consecutive failed ones."""
        return self._backoff.delay(failures, self._rng)

    async def run(self) -> None:
        """Connect, bind and serve, reconnecting with backoff, until ``stop`` or cancellation."""
        async with anyio.create_task_group() as tg:
            if self.role != "tx":
                tg.start_soon(self._deliver_loop)
            attempt = 0
            while not self._stopping:
                if not self._enabled:
                    self._wakeup = anyio.Event()
                    if not self._enabled and not self._stopping:
                        await self._wakeup.wait()
                    continue
                if attempt:
                    metrics.RECONNECTS.labels(self.config.name).inc()
                attempt += 1
                bound = await self._serve_once()
                self.failures = 0 if bound else self.failures + 1
                if self._stopping:
                    break
                held = self._hold_until - self._clock()
                if self._restart or not self._enabled:
                    self._restart = False
                    if held <= 0 or not self._enabled:
                        continue
                    delay = held
                else:
                    delay = max(self.backoff(self.failures), held)
                self._log.info("smpp.bind.reconnect", delay=round(delay, 3), failures=self.failures)
                self._wakeup = anyio.Event()
                with anyio.move_on_after(delay):
                    await self._wakeup.wait()
            tg.cancel_scope.cancel()

    async def _serve_once(self) -> bool:
        """One connection, from connect to teardown; True if it got bound."""
        cfg = self.config
        session = EsmeSession(
            window=cfg.window,
            response_timeout=cfg.response_timeout_seconds,
            enquire_link_interval=cfg.enquire_link_seconds,
        )
        link = _Link(session)
        self._link = link
        self._set_state("connecting")
        try:
            link.conn = await self._connect(
                cfg.host,
                cfg.port,
                on_data=partial(self._on_data, link),
                ssl_context=self._ssl,
                server_hostname=cfg.tls_server_name,
                timeout=cfg.connect_timeout_seconds,
            )
        except TransportError as exc:
            self._log.warning("smpp.bind.connect_failed", error=str(exc))
            self._error(f"connect failed: {exc}")
            self._link = None
            self._set_state("down")
            return False
        if link.done.is_set() or not self._enabled or self._stopping:  # suspended while connecting
            link.conn.close()
            self._link = None
            self._set_state("down")
            return False
        link.conn.on_resume = self._handler.space_changed
        bound = False
        report = True
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._timer_loop, link)
                tg.start_soon(self._watch_connection, link)
                self._set_state("binding")
                link.conn.write(session.send(self._bind_pdu(), self._clock()))
                await link.changed.wait()
                if link.bound and not link.done.is_set():
                    bound = True
                    link.submitting = self.role != "rx" and not self._stopping
                    self._set_state("bound")
                    metrics.BINDS_BOUND.labels(cfg.name).inc()
                    self._log.info("smpp.bind.up", system_id=cfg.system_id)
                    self._handler.space_changed()
                    await link.done.wait()
                tg.cancel_scope.cancel()
        except anyio.get_cancelled_exc_class():
            report = False  # the connector is being torn down: nobody is listening for results
            raise
        finally:
            self._teardown(link, bound, report)
        return bound

    def _bind_pdu(self) -> Pdu:
        cfg = self.config
        return _BIND_PDUS[self.role](  # type: ignore[call-arg]
            system_id=cfg.system_id,
            password=cfg.password.get_secret_value(),
            system_type=cfg.system_type,
            address_range=cfg.address_range,
        )

    def _teardown(self, link: _Link, bound: bool, report: bool) -> None:
        link.finish(link.reason or "closed")
        if self._link is link:
            self._link = None
        conn = link.conn
        if conn is not None:
            if link.reason in ("unbound", "peer_unbound", "closed"):
                conn.close()
            else:
                conn.abort()
            if conn.error is not None:
                self._log.error("smpp.bind.handler_error", error=repr(conn.error))
        lost = link.session.connection_lost()
        for out in lost:
            if isinstance(out.request, QuerySm):
                out.context(None)  # a query is only a question: nothing was sent that could be lost
        lost = tuple(out for out in lost if not isinstance(out.request, QuerySm))
        queued = list(self._queue)
        self._queue.clear()
        if bound:
            metrics.BINDS_BOUND.labels(self.config.name).dec()
        self._set_state("down")
        if link.reason not in ("unbound", "bind_refused") and not self._stopping:
            self._error(f"link lost: {link.reason}")
        self._log.info(
            "smpp.bind.down", reason=link.reason, unanswered=sum(1 for o in lost if o.context), unsent=len(queued)
        )
        if not report:
            return
        if bound:
            self._handler.link_down(self, link.reason or "closed", link.sent, link.answered)
        for out in lost:
            if out.context is not None:
                self._handler.submit_lost(self, out.context[0], "connection_lost")
        for context, _ in queued:
            self._handler.submit_unsent(self, context)
        self._handler.space_changed()

    @staticmethod
    async def _watch_connection(link: _Link) -> None:
        """End the link when the connection is gone, whatever the session made of it."""
        await link.conn.closed.wait()  # type: ignore[union-attr]
        link.finish(link.reason or "connection_lost")

    async def _timer_loop(self, link: _Link) -> None:
        """Run the session's timers (response timeouts, keep-alive) and end throttle pauses."""
        session = link.session
        while not link.done.is_set():
            now = self._clock()
            due = session.next_timer()
            paused = self._paused_until > now
            if paused:
                due = self._paused_until if due is None else min(due, self._paused_until)
            delay = self._tick if due is None else min(max(due - now, 0.0), self._tick)
            if self._kick.is_set():
                self._kick = anyio.Event()
            with anyio.move_on_after(delay):
                await self._kick.wait()
            now = self._clock()
            freed = False
            for event in session.on_timer(now):
                freed |= self._on_event(link, event)
            if paused and self._paused_until <= now:
                freed = True  # the pause is over: send what waited
            self._after(link, freed)

    async def _deliver_loop(self) -> None:
        """Hand deliveries to the handler in batches, several batches in flight at once.

        A deliver_sm is acked only once stored, and the SMSC holds at most its
        window of unacked ones per connection, so receipts flow at most at
        window / store latency per bind. Starting the next batch while the
        previous is still being committed keeps that latency to one commit.
        """
        wait = self.config.receipt_batch_max_wait_ms / 1000
        most = self.config.receipt_batch_max
        limiter = anyio.Semaphore(self.config.receipt_store_concurrency)
        async with anyio.create_task_group() as tg:
            while True:
                if not self._inbox:
                    self._inbox_ready = anyio.Event()
                    await self._inbox_ready.wait()
                if wait > 0 and len(self._inbox) < most:
                    await anyio.sleep(wait)
                await limiter.acquire()
                batch = self._inbox[:most]
                del self._inbox[:most]
                if not batch:  # taken while we waited for the limiter
                    limiter.release()
                    continue
                tg.start_soon(self._store_batch, batch, limiter)

    async def _store_batch(self, batch: list[Delivery], limiter: anyio.Semaphore) -> None:
        try:
            await self._handler.deliveries(self, batch)
        finally:
            limiter.release()

    async def stop(self) -> None:
        """Stop for good: unbind if bound (waiting up to ``unbind_timeout_seconds``), close, do not reconnect."""
        self._stopping = True
        self._stop.set()
        self._wake()
        link = self._link
        if link is None:
            return
        link.submitting = False
        await self._unbind(link)
        link.finish(link.reason or "stopped")
