"""The SMPP connector: one carrier account, N binds, segments in, results / receipts / MO out.

``SmppConnector`` is what the queue engine sees (``gateway.port``).

Sending: ``send`` cuts the message into segments (``outbound.Preparer``;
``cost`` counts them and caches the cut for ``send``), refuses what cannot go
(FAILED ``unknown_sender`` / ``unencodable`` / ``too_long`` /
``deadline_passed``, reported at once), then picks the bound, unpaused bind
with the most free window (round-robin among equals) and queues every segment
there, in order. With no room anywhere it waits: that is the engine's
backpressure. A cancelled ``send`` has taken nothing.

Results: every segment's answer lands in its ``jobs.Job``; when the last one
is in, the job's verdict goes to ``sink.submit_result`` exactly once (see
``jobs`` for the rules). ESME_RTHROTTLED / ESME_RMSGQFUL also pause the bind
for ``throttle_pause_ms`` and call ``throttle_listener(sender)`` (the rate
limiter's hook). A multipart message whose later segments were throttled
after earlier ones were accepted has just the missing segments resent, after
``partial_retry_delay_ms``, at most ``partial_retry_attempts`` times; when those
are spent the result carries ``resume`` (reference and accepted ids), the queue
keeps it (``OutboundMessage.partial``), and the next attempt on this connector
sends only the missing segments with the same reference. A generic_nack whose
status can never succeed (``ESME_RINVCMDID``, ``ESME_RINVCMDLEN``... every
PERMANENT code) fails the message; other nacks are retried.

The breaker (:mod:`gateway.smpp.breaker`): consecutive response timeouts,
generic_nacks, or links the SMSC ended right after taking submits pause every
bind (nothing is sent, no new link is opened) for ``breaker_pause_seconds``,
doubling while it goes on; timeouts and nacks also rebind each bind. The gauge
``gateway_smpp_breaker_open{connector}`` is 1 until a healthy answer closes it.

Deliveries (``deliveries``, called by each bind with a batch): receipts become
``Receipt``s and MO messages ``InboundMessage``s; each kind is stored with one
``await sink.store_*`` and only then acknowledged with status 0. If storing
raises, they are answered ESME_RX_T_APPN (0x64), so the SMSC sends them again
later; nothing is acknowledged before it is stored. A receipt that cannot be
read (no id or no state) is recorded as dropped (``receipt_malformed`` in
``gateway.receipts_dropped``) and acknowledged with status 0 once that is
stored - resending it would not make it readable - after logging
``smpp.receipt.unparseable`` (no text) and counting
``gateway_smpp_receipts_unparseable_total``. It is not stored as an MO
message: its text could then trigger opt-out keywords. What counts as a
receipt is ``receipt_detection`` (``inbound.is_receipt``): by default the
esm_class, the receipt TLVs or an Appendix B text, so an SMSC that sends
receipts with esm_class 0 is understood.

Reconciliation: ``query_receipts`` asks the SMSC with ``query_sm`` (when
``query_sm`` is on) for messages whose receipt is overdue; the engine applies
the final answers as receipts before settling the rest ``unknown``. A submit
accepted without a message_id (no receipt can ever match it) is reported with
reason ``submitted_unconfirmed`` (``unconfirmed_submits = "settle"``), which
settles it at once.

Operators' controls (``gateway.port.Connector``): ``health`` (binds bound,
window use, the latest error), ``rebind`` (one bind after the other: drain its
window, unbind, bind again, so sending goes on), and ``set_session_budget``
(with ``account_binds`` set, every bind starts down and only as many as the
instance holds slots for in the account's cluster-wide budget come up;
``transmitter_receiver`` binds come and go in pairs).

Shutdown: ``drain`` refuses new and waiting ``send`` calls (``ConnectorClosed``),
settles partial retries at once, waits for every outstanding answer (the caller
bounds that wait), then unbinds every bind (shielded, at most
``unbind_timeout_seconds``) and stops reconnecting.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus

from gateway.errors import ConfigError, ConnectorClosed, ConnectorError
from gateway.port import (
    Connector,
    ConnectorHealth,
    OutboundMessage,
    Outcome,
    QueueReason,
    Receipt,
    ReceiptQuery,
    ReceiptState,
    ResultSink,
    SendResult,
)
from gateway.smpp import metrics
from gateway.smpp.bind import Bind, Connect, Delivery, Role
from gateway.smpp.breaker import Breaker, Cause
from gateway.smpp.config import SmppConnectorConfig
from gateway.smpp.inbound import MoAssembler, ReceiptReader, is_receipt, receipt_from_query
from gateway.smpp.jobs import Job
from gateway.smpp.outbound import Preparer, source_ton_npi
from gateway.smpp.protocol.concat import Segment
from gateway.smpp.protocol.pdu import DeliverSm, GenericNack, Pdu, QuerySm, QuerySmResp
from gateway.smpp.protocol.receipts import IdFormat, IdSide, ReceiptParseError, normalise_message_id
from gateway.smpp.protocol.status import ESME_RX_T_APPN, StatusClass, classify_status, status_name
from gateway.smpp.protocol.tlv import Tag
from gateway.smpp.reasons import SmppReason, status_reason
from gateway.smpp.transport import TransportError, make_ssl_context, open_connection

__all__ = ["SmppConnector"]

log = structlog.get_logger("gateway.smpp")

_PREPARED_CACHE = 16_384  # segment cuts kept between cost() (at claim time) and send()
_PEER_ENDED = frozenset({"peer_unbound", "peer_closed", "connection_lost"})  # links the SMSC ended


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SmppConnector(Connector):
    """An SMPP 3.4 carrier account (see the module docstring)."""

    def __init__(
        self,
        config: SmppConnectorConfig,
        *,
        throttle_listener: Callable[[str], None] | None = None,
        success_listener: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], datetime] = _utcnow,
        rng: random.Random | None = None,
        connect: Connect = open_connection,
    ) -> None:
        self.config = config
        self.name = config.name
        self.channel = config.channel
        self._throttle_listener = throttle_listener
        self._success_listener = success_listener
        self._clock = clock
        self._wallclock = wallclock
        self._preparer = Preparer(config)
        # cut, and the concatenation reference it took
        self._prepared: dict[int, tuple[OutboundMessage, list[Segment] | SendResult, int]] = {}
        self._id_format = IdFormat(config.id_format)
        self._receipts = ReceiptReader(config.name, id_format=config.id_format, timezone=config.receipt_timezone)
        self._mo = MoAssembler(
            config.name, max_age=config.mo_reassembly_timeout_seconds, gsm7_packed=config.gsm7_packed
        )
        try:
            ssl_context = make_ssl_context(verify=config.tls_verify, ca_file=config.tls_ca_file) if config.tls else None
        except TransportError as exc:
            raise ConfigError(f"connector {config.name!r}: tls_ca_file: {exc}") from exc
        rng = rng or random.Random()
        roles: list[Role]
        if config.bind_mode == "transceiver":
            roles = ["trx"] * config.binds
        elif config.bind_mode == "transmitter":
            roles = ["tx"] * config.binds
        else:
            roles = ["tx"] * config.binds + ["rx"] * config.binds  # type: ignore[assignment]
        budgeted = config.account_binds is not None  # binds wait for a slot of the account's budget
        self.binds = [
            Bind(
                config,
                self,
                index=i,
                role=role,
                clock=clock,
                rng=rng,
                ssl_context=ssl_context,
                connect=connect,
                enabled=not budgeted,
            )
            for i, role in enumerate(roles)
        ]
        self._budget = 0 if budgeted else len(self.binds)
        self._senders = [b for b in self.binds if b.role != "rx"]
        self._rr = 0
        self._breaker = Breaker(
            config.breaker_threshold, config.breaker_pause_seconds, config.breaker_max_pause_seconds
        )
        self._breaker_gauge = metrics.BREAKER_OPEN.labels(config.name)
        self._breaker_gauge.set(0)
        self._rebinding = False
        self._tg: TaskGroup | None = None
        self._sink: ResultSink | None = None
        self._closing = False
        self._open_jobs = 0
        self._settled = anyio.Event()  # set when open jobs reach 0 while draining
        self._space = anyio.Event()
        self._waiters = 0
        self._retries: deque[tuple[float, Job]] = deque()
        self._retry_kick = anyio.Event()
        self._log = log.bind(connector=config.name)
        name = config.name
        metrics.init_connector(name)
        self._m_submits = {r: metrics.SUBMITS.labels(name, r) for r in metrics.SUBMIT_RESULTS}
        self._m_seconds = metrics.SUBMIT_SECONDS.labels(name)
        self._m_unparseable = metrics.RECEIPTS_UNPARSEABLE.labels(name)
        self._m_inbound = metrics.INBOUND.labels(name)
        self._last_error: tuple[str, float] | None = None  # the latest refused submit: (status name, Unix time)

    def __repr__(self) -> str:
        c = self.config
        return f"SmppConnector(name={self.name!r}, host={c.host!r}, port={c.port}, binds={len(self.binds)})"

    # -- Connector API ------------------------------------------------------------------

    async def run(self, sink: ResultSink, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Keep every bind up (reconnecting with backoff) until cancelled; ready at once (``send`` waits)."""
        self._sink = sink
        async with anyio.create_task_group() as tg:
            for bind in self.binds:
                tg.start_soon(bind.run)
            tg.start_soon(self._retry_loop)
            self._tg = tg
            if len(self._senders) < len(self.binds) or self.binds[0].role == "trx":
                tg.start_soon(self._mo_expiry_loop)
            task_status.started()

    def cost(self, message: OutboundMessage) -> int:
        """The number of segments ``message`` goes out in (what rate limits charge); 1 if it is refused."""
        cut = self._cut(message)
        return len(cut) if isinstance(cut, list) else 1

    @property
    def receipt_timeout(self) -> float | None:
        return self.config.receipt_timeout_seconds

    async def query_receipts(self, queries: Sequence[ReceiptQuery]) -> Sequence[Receipt] | None:
        """Ask the SMSC with query_sm what became of each carrier id (``config.query_sm``; None when off).

        Queries go out on bound binds as their windows allow; what is not answered within
        ``query_sm_timeout_seconds`` (refused, timed out, bind lost) is left out."""
        if not self.config.query_sm or self._closing:
            return None
        answers: list[Receipt] = []
        outstanding = 0
        all_answered = anyio.Event()
        zone = self._receipts.zone

        def answered(query: ReceiptQuery, response: Pdu | None) -> None:
            nonlocal outstanding
            outstanding -= 1
            if isinstance(response, QuerySmResp) and response.command_status == 0:
                try:
                    answers.append(receipt_from_query(self.name, query.carrier_id, response, zone))
                except ReceiptParseError:
                    pass
            elif response is not None:
                metrics.count_command_status(self.name, "query_sm", response.command_status)
            if outstanding == 0:
                all_answered.set()

        with anyio.move_on_after(self.config.query_sm_timeout_seconds):
            for query in queries:
                source, ton, npi = source_ton_npi(query.sender)
                pdu = QuerySm(message_id=query.carrier_id, source_addr_ton=ton, source_addr_npi=npi, source_addr=source)
                while True:
                    bind = self._pick()
                    if bind is not None and bind.query(pdu, partial(answered, query)):
                        outstanding += 1
                        break
                    await anyio.sleep(0.01)  # every window is full or every bind is down: wait for room
            if outstanding:
                await all_answered.wait()
        self._log.info("smpp.query_sm.done", asked=len(queries), answered=len(answers))
        return answers

    def max_unrecorded(self) -> int | None:
        """Window x binds: what can be outstanding at the SMSC at once."""
        return self.config.window * self.config.binds

    def is_ready(self) -> bool:
        return not self._closing and any(b.is_bound for b in self._senders)

    # -- operators' controls --------------------------------------------------------------

    def health(self) -> ConnectorHealth:
        senders = self._senders
        now = self._clock()
        bound = sum(1 for b in self.binds if b.is_bound or (b.role == "rx" and b.state == "bound"))
        capacity = self.config.window * sum(1 for b in senders if b.is_bound)
        errors = [(b.last_error, b.last_error_at) for b in self.binds if b.last_error_at is not None]
        if self._last_error is not None:
            errors.append(self._last_error)
        last = max(errors, key=lambda e: e[1]) if errors else (None, None)
        return ConnectorHealth(
            ready=self.is_ready(),
            sessions_up=bound,
            sessions_allowed=self._budget,
            sessions_configured=len(self.binds),
            in_flight=sum(b.in_flight for b in senders),
            capacity=capacity,
            last_error=last[0],
            last_error_at=last[1],
            detail={
                "binds": [
                    {"bind": b.label, "role": b.role, "state": b.state, "paused": b.capacity(now) == 0 and b.is_bound}
                    for b in self.binds
                ]
            },
        )

    def session_allowance(self) -> int | None:
        return self.config.account_binds

    def sessions_wanted(self) -> int:
        return len(self.binds)

    async def set_session_budget(self, sessions: int) -> None:
        """Keep at most ``sessions`` binds up: later ones unbind (after their window drains) and stay down."""
        pairs = self.config.bind_mode == "transmitter_receiver"
        allowed = (sessions // 2) * 2 if pairs else sessions
        allowed = max(0, min(allowed, len(self.binds)))
        self._budget = allowed
        keep: set[int] = set()
        if pairs:
            half = len(self.binds) // 2
            keep = {i for i in range(half) if i < allowed // 2} | {half + i for i in range(half) if i < allowed // 2}
        else:
            keep = set(range(allowed))
        async with anyio.create_task_group() as tg:
            for i, bind in enumerate(self.binds):
                if i in keep and not self._closing:
                    bind.resume()
                elif bind.enabled or bind.active:
                    tg.start_soon(bind.suspend)

    async def rebind(self) -> None:
        """Rebind every bind in turn (drain, unbind, bind), waiting for each to be bound before the next."""
        self._log.info("smpp.connector.rebind", binds=len(self.binds))
        for bind in self.binds:
            if not bind.enabled:
                continue
            await bind.rebind()
            with anyio.move_on_after(self.config.connect_timeout_seconds + self.config.response_timeout_seconds):
                while bind.state != "bound" and bind.enabled and not self._closing:  # noqa: ASYNC110 - rare, polled
                    await anyio.sleep(0.05)

    async def send(self, message: OutboundMessage) -> None:
        """Take ``message`` onto a bind, waiting while every bind is down or full; the result comes later."""
        if self._closing:
            raise ConnectorClosed(f"connector {self.name} is draining")
        sink = self._sink
        if sink is None:
            raise ConnectorError(f"connector {self.name} is not running")
        entry = self._prepared.pop(message.id, None)
        resumed = self._resumable(message)
        cut: list[Segment] | SendResult
        ids: list[str | None] | None = None
        if resumed is not None:
            cut, reference, ids = resumed
        elif entry is not None and entry[0] is message:
            cut, reference = entry[1], entry[2]
        else:
            cut = self._preparer.segment(message)
            reference = self._preparer.last_reference
        if isinstance(cut, SendResult):
            sink.submit_result(cut)
            return
        bind = self._pick()
        while bind is None:
            self._waiters += 1
            try:
                await self._space.wait()
            finally:
                self._waiters -= 1
            if self._closing:
                raise ConnectorClosed(f"connector {self.name} is draining")
            bind = self._pick()
        pdus = self._preparer.build(message, cut, self._wallclock())
        if isinstance(pdus, SendResult):
            sink.submit_result(pdus)
            return
        job = Job(message, pdus, self._clock(), reference=reference if len(pdus) > 1 else None, ids=ids)
        self._open_jobs += 1
        if job.waiting == 0:  # every segment was accepted before (nothing left to send)
            self._settle(job)
            return
        bind.enqueue([((job, i), pdu) for i, pdu in enumerate(pdus) if job.ids[i] is None])

    def _resumable(self, message: OutboundMessage) -> tuple[list[Segment], int, list[str | None]] | None:
        """The segments of a message this connector sent in part before, cut again with the same
        reference, and the carrier ids of those it accepted; None to send it whole."""
        partial = message.partial
        if not partial or partial.get("connector") != self.name:
            return None
        try:
            reference = int(partial["reference"])
            ids = [str(cid) if cid else None for cid in partial["ids"]]
        except (KeyError, TypeError, ValueError):
            return None
        cut = self._preparer.segment(message, reference=reference)
        if not isinstance(cut, list) or len(cut) != len(ids) or not any(ids):
            return None  # cut differently now (configuration changed): sent whole, flagged by the queue
        self._log.info("smpp.multipart.resumed", message_id=message.id, missing=ids.count(None), segments=len(ids))
        return cut, reference, ids

    async def drain(self) -> None:
        """Stop taking messages, wait for outstanding answers, then unbind everything."""
        self._closing = True
        self._wake_senders()
        self._retry_kick.set()
        try:
            while self._open_jobs > 0:
                self._settled = anyio.Event()
                await self._settled.wait()
        finally:
            with anyio.CancelScope(shield=True):
                async with anyio.create_task_group() as tg:
                    for bind in self.binds:
                        tg.start_soon(bind.stop)
            self._log.info("smpp.connector.drained", unanswered=self._open_jobs)

    # -- sending internals ---------------------------------------------------------------

    def _cut(self, message: OutboundMessage) -> list[Segment] | SendResult:
        entry = self._prepared.get(message.id)
        if entry is not None and entry[0] is message:
            return entry[1]
        cut = self._preparer.segment(message)
        if len(self._prepared) >= _PREPARED_CACHE:
            del self._prepared[next(iter(self._prepared))]
        self._prepared[message.id] = (message, cut, self._preparer.last_reference)
        return cut

    def _pick(self) -> Bind | None:
        """The submitting bind with the most room now, rotating among equals; None if none has any."""
        binds = self._senders
        n = len(binds)
        now = self._clock()
        start = self._rr
        self._rr = (start + 1) % n
        best = None
        most = 0
        for k in range(n):
            bind = binds[(start + k) % n]
            room = bind.capacity(now)
            if room > most:
                best, most = bind, room
        return best

    def _wake_senders(self) -> None:
        event = self._space
        self._space = anyio.Event()
        event.set()

    # -- BindHandler: answers ------------------------------------------------------------

    def space_changed(self) -> None:
        if self._waiters:
            self._wake_senders()

    def submit_answered(self, bind: Bind, context: Any, response: Pdu, elapsed: float) -> None:
        job, index = context
        status = response.command_status
        self._m_seconds.observe(elapsed)
        if type(response) is not GenericNack:
            breaker = self._breaker
            was_open = breaker.trips
            breaker.answered()
            if was_open and not breaker.trips:
                self._breaker_closed()
        if status:
            metrics.count_command_status(self.name, "submit_sm", status)
            if classify_status(status) is not StatusClass.THROTTLED:  # throttling shows in its own metrics
                self._last_error = (f"submit refused: {status_name(status)}", time.time())
        if type(response) is GenericNack:
            self._m_submits["generic_nack"].inc()
            kind = classify_status(status)
            if kind is StatusClass.PERMANENT:  # e.g. ESME_RINVCMDID: this PDU can never be taken
                job.refused(index, status)
            elif kind is StatusClass.THROTTLED:
                job.soft(Outcome.THROTTLED, status, status_reason(status))
                self._throttled(bind, job.message.sender)
            else:
                job.soft(Outcome.RETRY, status, SmppReason.GENERIC_NACK)
            self._breaker_failure("generic_nack")
        elif status == 0:
            self._m_submits["accepted"].inc()
            try:
                carrier_id = normalise_message_id(response.message_id, self._id_format, side=IdSide.SUBMIT_RESP)  # type: ignore[attr-defined]
            except ReceiptParseError:
                carrier_id = ""  # accepted without an id: no receipt will ever match it
            job.accepted(index, carrier_id)
        else:
            kind = classify_status(status)
            if kind is StatusClass.THROTTLED:
                self._m_submits["throttled"].inc()
                job.soft(Outcome.THROTTLED, status, status_reason(status))
                self._throttled(bind, job.message.sender)
            elif kind is StatusClass.PERMANENT:
                self._m_submits["permanent"].inc()
                job.refused(index, status)
            else:  # TRANSIENT, and codes outside the table
                self._m_submits["transient"].inc()
                job.soft(Outcome.RETRY, status, status_reason(status))
        if job.waiting == 0:
            self._settle(job)

    def submit_lost(self, bind: Bind, context: Any, why: str) -> None:
        job, _ = context
        self._m_submits[why].inc()
        job.lost(why)
        if why == "timeout":
            self._breaker_failure("timeout")
        if job.waiting == 0:
            self._settle(job)

    def submit_unsent(self, bind: Bind, context: Any) -> None:
        job, _ = context
        job.soft(Outcome.RETRY, None, SmppReason.BIND_LOST)
        if job.waiting == 0:
            self._settle(job)

    def link_down(self, bind: Bind, reason: str, sent: int, answered: int) -> None:
        pause = self._breaker.link_ended(by_peer=reason in _PEER_ENDED, sent=sent, answered=answered, now=self._clock())
        if pause is not None:
            self._trip("peer_unbind", pause)

    # -- the breaker ------------------------------------------------------------------

    def _breaker_failure(self, cause: Cause) -> None:
        pause = self._breaker.failure(cause, self._clock())
        if pause is not None:
            self._trip(cause, pause)

    def _trip(self, cause: Cause, pause: float) -> None:
        """Pause every bind for ``pause`` s; after timeouts or nacks, rebind them too."""
        self._breaker_gauge.set(1)
        metrics.BREAKER_TRIPS.labels(self.name, cause).inc()
        self._last_error = (f"breaker open: consecutive {cause.replace('_', ' ')}s", time.time())
        self._log.warning("smpp.breaker.open", cause=cause, pause=round(pause, 3), trips=self._breaker.trips)
        for bind in self._senders:
            bind.hold(pause)
        if cause != "peer_unbind" and not self._rebinding and self._tg is not None and not self._closing:
            self._rebinding = True
            self._tg.start_soon(self._rebind_after_trip)

    async def _rebind_after_trip(self) -> None:
        try:
            async with anyio.create_task_group() as tg:
                for bind in self._senders:
                    if bind.enabled:
                        tg.start_soon(bind.rebind)
        finally:
            self._rebinding = False

    def _breaker_closed(self) -> None:
        self._breaker_gauge.set(0)
        self._log.info("smpp.breaker.closed")

    def _throttled(self, bind: Bind, sender: str) -> None:
        bind.pause(self.config.throttle_pause_ms / 1000)
        if self._throttle_listener is not None:
            try:
                self._throttle_listener(sender)
            except Exception as exc:  # noqa: BLE001 - a listener bug must not break the read path
                self._log.error("smpp.throttle_listener.failed", error=repr(exc))

    def _settle(self, job: Job) -> None:
        allowed = not self._closing and job.rounds <= self.config.partial_retry_attempts
        result = job.verdict(retry_allowed=allowed)
        if result is None:
            self._retries.append((self._clock() + self.config.partial_retry_delay_ms / 1000, job))
            self._retry_kick.set()
            return
        self._report(job, result)

    def _report(self, job: Job, result: SendResult) -> None:
        if (
            result.outcome is Outcome.SUBMITTED
            and "" in result.carrier_ids
            and self.config.unconfirmed_submits == "settle"
        ):  # accepted without a message_id: no receipt can match it, so it settles now
            result = dataclasses.replace(result, reason=QueueReason.SUBMITTED_UNCONFIRMED)
        self._open_jobs -= 1
        if self._closing and self._open_jobs <= 0:
            self._settled.set()
        self._sink.submit_result(result)  # type: ignore[union-attr]
        if result.outcome is Outcome.SUBMITTED and self._success_listener is not None:
            try:
                self._success_listener(job.message.sender)
            except Exception as exc:  # noqa: BLE001
                self._log.error("smpp.success_listener.failed", error=repr(exc))

    async def _retry_loop(self) -> None:
        """Resend the missing segments of partially accepted messages, after their delay."""
        while True:
            if not self._retries:
                self._retry_kick = anyio.Event()
                await self._retry_kick.wait()
                continue
            if self._closing:
                while self._retries:
                    _, job = self._retries.popleft()
                    self._report(job, job.verdict(retry_allowed=False))  # type: ignore[arg-type]
                continue
            due, job = self._retries[0]
            wait = due - self._clock()
            bind = self._pick() if wait <= 0 else None
            if bind is None:
                self._retry_kick = anyio.Event()
                with anyio.move_on_after(max(wait, 0.05)):
                    await self._retry_kick.wait()
                continue
            self._retries.popleft()
            missing = job.missing()
            job.next_round(missing)
            bind.enqueue([((job, i), job.pdus[i]) for i in missing])

    # -- BindHandler: deliveries --------------------------------------------------------

    async def deliveries(self, bind: Bind, batch: list[Delivery]) -> None:
        """Store a batch's receipts and MO messages, then acknowledge each (0, or 0x64 if storing failed)."""
        receipts, receipt_acks = [], []
        inbound, inbound_acks = [], []
        now, wall = self._clock(), self._wallclock()
        detection = self.config.receipt_detection
        for delivery in batch:
            pdu = delivery.pdu
            if is_receipt(pdu, detection):
                try:
                    receipts.append(self._receipts.read(pdu))
                except ReceiptParseError:
                    self._m_unparseable.inc()
                    self._log.warning("smpp.receipt.unparseable", bind=bind.label, esm_class=pdu.esm_class)
                    receipts.append(self._malformed(pdu))  # recorded as dropped, acknowledged once stored
                receipt_acks.append(delivery)
            else:
                done = self._mo.add(pdu, delivery, now=now, received_at=wall)
                if done is not None:
                    inbound.append(done[0])
                    inbound_acks.extend(done[1])
        if receipts:
            status = await self._store("receipts", receipts)
            for delivery in receipt_acks:
                delivery.ack(status)
        if inbound:
            await self._store_inbound(inbound, inbound_acks)

    def _malformed(self, pdu: Any) -> Receipt:
        """A receipt with no readable id or state, to be recorded as dropped (never as an MO message)."""
        receipted = pdu.tlvs.get(Tag.RECEIPTED_MESSAGE_ID)
        raw = pdu.short_message if isinstance(pdu, DeliverSm) else b""
        return Receipt(
            connector=self.name,
            carrier_id=receipted.strip(" \x00") if isinstance(receipted, str) else "",
            state=ReceiptState.UNKNOWN,
            detail={"esm_class": pdu.esm_class, "data_coding": pdu.data_coding, "length": len(raw)},
            dropped=QueueReason.RECEIPT_MALFORMED,
        )

    async def _store(self, kind: str, items: list[Any]) -> int:
        sink = self._sink
        assert sink is not None
        try:
            if kind == "receipts":
                await sink.store_receipts(items)
            else:
                await sink.store_inbound(items)
        except Exception as exc:  # noqa: BLE001 - the SMSC resends what we refuse
            metrics.DELIVER_STORE_FAILURES.labels(self.name, kind).inc()
            self._log.warning("smpp.deliveries.store_failed", kind=kind, count=len(items), error=type(exc).__name__)
            return ESME_RX_T_APPN
        return 0

    async def _store_inbound(self, messages: list[Any], acks: list[Delivery]) -> None:
        status = await self._store("inbound", messages)
        if status == 0:
            self._m_inbound.inc(len(messages))
        for delivery in acks:
            delivery.ack(status)

    async def _mo_expiry_loop(self) -> None:
        """Store what arrived of long MO messages whose remaining parts never came."""
        while True:
            await anyio.sleep(min(1.0, self.config.mo_reassembly_timeout_seconds / 2))
            expired = self._mo.expire(self._clock(), self._wallclock())
            if expired:
                self._log.warning("smpp.mo.partial", count=len(expired))
                await self._store_inbound([m for m, _ in expired], [t for _, ts in expired for t in ts])
