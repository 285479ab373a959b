"""The queue engine: claim in batches, ask the policy, hand to connectors, write back.

One engine per daemon process. Its tasks run in one AnyIO task group:

* the claimer takes batches of queued rows from the store (``FOR UPDATE SKIP
  LOCKED`` with a lease) while there is room in flight, woken by a ``NOTIFY``
  (:class:`~gateway.queue.listener.Listener`) or an idle poll;
* one :class:`Outlet` per connector: its rate-limit dispatcher (per-sender
  lanes, fair across campaigns) hands messages to ``Connector.send`` (which
  blocks while the connector is full) — one stuck connector never blocks
  another;
* connectors report to the engine (it is their :class:`~gateway.port.ResultSink`);
  :mod:`gateway.queue.rules` turns each result into a transition that the
  :class:`~gateway.queue.writer.Writer` batches into the store;
* housekeeping jobs (:mod:`gateway.queue.housekeeping`): promote due deferred
  rows, heartbeat and extend leases, recover leases of dead instances, time
  out receipts, match pending receipts, keep the partitions. (Queue depth is
  sampled once per cluster by :mod:`gateway.control`, not by every engine.)

Shutdown (:meth:`Engine.stop`): stop claiming, give back what no connector
took yet, let connectors finish outstanding sends up to the drain deadline,
defer what is still unanswered as "may be a duplicate", flush the writer.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import anyio
import structlog
from anyio.abc import TaskStatus

from gateway import __version__, metrics
from gateway.backoff import Backoff
from gateway.errors import ConnectorClosed
from gateway.numbers import BadNumber
from gateway.policy.decision import Action, Reason
from gateway.port import (
    Connector,
    InboundMessage,
    MessageState,
    OutboundMessage,
    Outcome,
    QueueReason,
    Receipt,
    SendResult,
)
from gateway.queue import rules
from gateway.queue.config import EngineConfig, RoutingConfig
from gateway.queue.gate import NoPolicy, PolicyGate
from gateway.queue.housekeeping import Job, run_jobs
from gateway.queue.listener import Listener
from gateway.queue.outlet import Outlet
from gateway.queue.routing import Router
from gateway.queue.store import InstanceInfo, Store
from gateway.queue.transitions import OptOut, Settle, Transition
from gateway.queue.writer import Writer
from gateway.ratelimit import Dispatcher, LocalTokens, RateLimitConfig, TokenSource

__all__ = ["Engine", "new_owner"]

log = structlog.get_logger("gateway.engine")

_BATCH_LIMIT = 5000  # rows per housekeeping statement
_STARTUP_BACKOFF = Backoff(0.2, 5.0)
# Engines running in this process (tests and benchmarks run several): never taken for dead predecessors.
_RUNS_IN_THIS_PROCESS: set[str] = set()
_CLAIM_BACKOFF = Backoff(0.1, 5.0)


def new_owner(name: str | None) -> str:
    """``<name or host-pid>#<random>``: leases and heartbeats belong to one process run.

    A restarted instance with the same configured name must not extend (and
    so keep forever) the leases of the run that crashed."""
    base = name or f"{socket.gethostname()}-{os.getpid()}"
    return f"{base}#{secrets.token_hex(3)}"


def process_place() -> str | None:
    """The machine boot and pid namespace this process lives in (None where that cannot be told).

    Two runs in the same place share one pid space, so one can tell whether the
    other's process still exists."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return f"{boot}/{namespace}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class Engine:
    def __init__(
        self,
        store: Store,
        connectors: Mapping[str, Connector],
        *,
        config: EngineConfig = EngineConfig(),
        routing: RoutingConfig = RoutingConfig(),
        gate: PolicyGate | None = None,
        ratelimit: RateLimitConfig | None = None,
        tokens: TokenSource | None = None,
        listener: Listener | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        on_result: Callable[[OutboundMessage, SendResult], None] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.connectors = dict(connectors)
        self.router = Router(routing, self.connectors)
        self.owner = store.owner
        self.instance = InstanceInfo(
            self.owner,
            socket.gethostname(),
            os.getpid(),
            __version__,
            lease_seconds=config.lease_seconds,
            place=process_place(),
        )
        self._gate: PolicyGate = gate or NoPolicy()
        self._listener = listener
        self._now = wall_clock
        self._rng = rng or random.Random()
        self._on_result = on_result  # an observer (tests, benchmarks): every result as it arrives
        self._in_flight: dict[int, tuple[OutboundMessage, Outlet | None]] = {}
        self._room = anyio.Event()
        self._wake = anyio.Event()
        self._stopping = False
        self._stopped = anyio.Event()
        self.claimed_total = 0
        self.claim_batches = 0  # claim statements that returned rows
        self._claiming = anyio.Lock()
        self._sweep_soon = False
        self._last_sweep = time.monotonic()
        self.writer = Writer(
            store,
            flush_interval=config.flush_interval_ms / 1000,
            flush_max_rows=config.flush_max_rows,
            on_written=self._written,
            on_accepted=self._accepted,
            receipt_linger=config.receipt_linger_ms / 1000 if config.journal else 0.0,
        )
        limits = ratelimit or RateLimitConfig()
        self._tokens: TokenSource = tokens or LocalTokens()
        self._outlets: dict[str, Outlet] = {}
        for name, connector in self.connectors.items():
            outlet = Outlet(
                connector,
                self.writer,
                report=self.submit_result,
                check=self._last_check,
                journal=config.journal,
                bound_unrecorded=config.bound_unrecorded,
                ahead=config.journal_ahead,
            )
            outlet.dispatcher = Dispatcher(
                connector=name,
                limits=limits.for_connector(name),
                send=outlet.accept,
                tokens=self._tokens,
                max_waiting=max(limits.max_waiting, config.max_in_flight),
            )
            self._outlets[name] = outlet

    # ------------------------------------------------------------------ public state
    @property
    def stopping(self) -> bool:
        """A drain has begun (``stop()`` was called)."""
        return self._stopping

    async def wait_stopped(self) -> None:
        """Return once ``run`` has finished (drained, leases released, instance marked stopped)."""
        await self._stopped.wait()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def is_ready(self) -> bool:
        return any(o.connector.is_ready() for o in self._outlets.values())

    def receipt_timeout(self, name: str) -> float:
        """The connector's own receipt timeout when it sets one, else the engine's (0 = never)."""
        own = self.connectors[name].receipt_timeout
        return float(own) if own is not None else self.config.receipt_timeout_seconds

    # ------------------------------------------------------------------ sink
    # The engine is the ResultSink the connectors report to.
    def submit_result(self, result: SendResult) -> None:
        entry = self._in_flight.get(result.message_id)
        if entry is None:
            log.warning("engine.result.unknown_message", message_id=result.message_id, outcome=result.outcome.value)
            return
        message, outlet = entry
        if self._on_result is not None:
            self._on_result(message, result)
        connector = outlet.connector.name if outlet else None
        if outlet is not None and outlet.dispatcher is not None:
            if result.outcome is Outcome.THROTTLED:
                outlet.dispatcher.throttled(message.sender)
            elif result.outcome is Outcome.SUBMITTED:
                outlet.dispatcher.succeeded(message.sender)
        transition = rules.after_send(
            message, result, connector=connector, retry=self.config.retry, now=self._now(), rng=self._rng
        )
        self.writer.add(transition)
        if outlet is not None:
            if result.outcome is not Outcome.SUBMITTED:
                # Not accepted (or unknowable): a crash cannot make it a silent duplicate.
                outlet.recorded(message.id)
            elif self.config.journal and isinstance(transition, Settle):
                self.writer.journal_accepted(transition)  # the slot frees when this commits

    async def store_receipts(self, receipts: Sequence[Receipt]) -> None:
        await self.writer.store_receipts(receipts)
        metrics.count_receipts(receipts)  # once per batch, after COMMIT: the one receipts family

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> None:
        for scope, number, source in self._gate.stop_keywords(messages):
            self.writer.add_opt_out(OptOut(scope, number, source))
        await self.writer.store_inbound(messages)

    def _accepted(self, ids: Sequence[int]) -> None:
        """Accepted submits are in the journal: they no longer count against the duplicate bound."""
        for mid in ids:
            entry = self._in_flight.get(mid)
            if entry is not None and entry[1] is not None:
                entry[1].recorded(mid)

    def _written(self, ids: Sequence[int]) -> None:
        for mid in ids:
            entry = self._in_flight.pop(mid, None)
            if entry is not None and entry[1] is not None:
                outlet = entry[1]
                outlet.in_flight -= 1
                outlet.recorded(mid)
        metrics.IN_FLIGHT.set(len(self._in_flight))
        self._room.set()

    # ------------------------------------------------------------------ run
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        log.info("engine.start", instance=self.owner, connectors=sorted(self.connectors))
        _RUNS_IN_THIS_PROCESS.add(self.owner)
        await self._startup()
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(self.writer.run)
                await tg.start(self._gate.run)
                for connector in self.connectors.values():
                    await tg.start(connector.run, self)
                await tg.start(self._tokens.run)
                for outlet in self._outlets.values():
                    assert outlet.dispatcher is not None
                    await tg.start(outlet.dispatcher.run)
                    await tg.start(outlet.run)
                tg.start_soon(run_jobs, self._jobs())
                tg.start_soon(self._receipt_deadline_loop)
                if self._listener is not None:
                    tg.start_soon(self._listener.run, self._notified)
                task_status.started()
                await self._claim_loop()
                await self._drain()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                try:
                    await self.store.stopped()
                except Exception as exc:  # noqa: BLE001
                    log.warning("engine.mark_stopped.failed", error=str(exc))
            self._stopped.set()
            _RUNS_IN_THIS_PROCESS.discard(self.owner)
            log.info("engine.stopped", instance=self.owner, claimed=self.claimed_total)

    def _notified(self) -> None:
        # Not self._wake.set bound once: the claim loop replaces self._wake after each idle wait.
        self._wake.set()

    def stop(self) -> None:
        """Begin a graceful drain; ``run`` returns when it is done."""
        if not self._stopping:
            log.info("engine.stopping", instance=self.owner, in_flight=len(self._in_flight))
        self._stopping = True
        self._wake.set()
        self._room.set()

    async def _startup(self) -> None:
        failures = 0
        while True:
            try:
                await self.store.start(self.instance)
                await self._forget_dead_predecessors()
                return
            except Exception as exc:
                if not self.store.is_transient(exc):
                    raise
                failures += 1
                delay = _STARTUP_BACKOFF.delay(failures)
                log.warning("engine.startup.retry", error=str(exc), retry_in=delay)
                await anyio.sleep(delay)

    async def _forget_dead_predecessors(self) -> None:
        """Earlier runs on this machine whose process is gone (e.g. killed, then restarted as us):
        their work is given back now, not when their lease runs out."""
        dead = [
            name
            for name, pid in await self.store.runs_in_place(self.instance)
            if name not in _RUNS_IN_THIS_PROCESS and (pid == self.instance.pid or not pid_alive(pid))
        ]
        if dead:
            log.warning("engine.predecessors.dead", runs=dead)
            await self.store.mark_dead(dead)
            self._wake.set()

    # ------------------------------------------------------------------ claim
    def _claimable_channels(self) -> list[str]:
        per_connector = max(self.config.claim_batch, self.config.max_in_flight // max(len(self._outlets), 1))
        channels = set()
        for outlet in self._outlets.values():
            if outlet.in_flight < per_connector and outlet.connector.is_ready():
                channels.add(outlet.connector.channel)
        return sorted(channels)

    async def _claim_loop(self) -> None:
        cfg = self.config
        failures = 0
        while not self._stopping:
            room = cfg.max_in_flight - len(self._in_flight)
            channels = self._claimable_channels()
            if room < min(cfg.claim_batch, cfg.max_in_flight) // 2 or not channels:
                self._room = anyio.Event()
                with anyio.move_on_after(0.5):
                    await self._room.wait()
                continue
            try:
                started = time.monotonic()
                async with self._claiming:  # the orphan sweep must not run while a claim may commit unseen rows
                    claim = await self.store.claim(min(cfg.claim_batch, room), channels)
                    for message, _consent in claim.messages:  # held from now on, before any other await
                        self._in_flight[message.id] = (message, None)
                metrics.CLAIM_SECONDS.observe(time.monotonic() - started)
                failures = 0
            except Exception as exc:  # noqa: BLE001
                failures += 1
                delay = _CLAIM_BACKOFF.delay(failures)
                metrics.DB_ERRORS.labels("claim").inc()
                log.warning("engine.claim.failed", error=str(exc), retry_in=delay)
                if self.store.is_transient(exc):
                    # The claim may have committed with its answer lost: sweep for rows we hold unknowingly.
                    self._sweep_soon = True
                    with anyio.move_on_after(5):
                        await self.store.reset()
                await anyio.sleep(delay)
                continue
            if not len(claim):
                self._wake = anyio.Event()
                with anyio.move_on_after(cfg.idle_poll_ms / 1000):
                    await self._wake.wait()
                if cfg.notify_debounce_ms:
                    await anyio.sleep(cfg.notify_debounce_ms / 1000)
                continue
            metrics.CLAIM_BATCH.observe(len(claim))
            self.claimed_total += len(claim)
            self.claim_batches += 1
            for mid, channel, error in claim.invalid:
                log.error("engine.row.invalid", message_id=mid, error=error)
                placeholder = OutboundMessage(mid, channel, "-", "-", "-")
                self._in_flight[mid] = (placeholder, None)
                self.writer.add(
                    Settle(mid, MessageState.FAILED, channel, QueueReason.INVALID_ROW, detail={"error": error})
                )
            await self._dispatch(claim.messages)

    async def _dispatch(self, batch: list[tuple[OutboundMessage, bool | None]]) -> None:
        if not batch:
            return
        now = self._now()
        try:
            decided = await self._gate.decide(batch, now)
        except Exception as exc:  # noqa: BLE001 - e.g. the database went away: give the batch back
            metrics.DB_ERRORS.labels("policy").inc()
            log.warning("engine.policy.failed", error=repr(exc), count=len(batch))
            for message, _ in batch:
                self._in_flight[message.id] = (message, None)
            self.writer.release([m.id for m, _ in batch])
            await anyio.sleep(0.5)
            return
        for message, decision in decided:
            transition = rules.after_decision(message, decision, now)
            outlet = None
            if transition is None and isinstance(message.number, BadNumber):
                # Read at claim and not a possible number: no carrier could take it (the policy,
                # when configured, has said so already; this holds without one too).
                transition = Settle(
                    message.id,
                    MessageState.FAILED,
                    message.channel,
                    Reason.INVALID_RECIPIENT,
                    detail={"detail": message.number.why},
                )
                metrics.POLICY_DECISIONS.labels(Action.FAIL.value, Reason.INVALID_RECIPIENT.value).inc()
            elif transition is None:
                connector = self.router.route(message)
                if connector is None:
                    transition = Settle(
                        message.id,
                        MessageState.FAILED,
                        message.channel,
                        QueueReason.NO_ROUTE,
                        detail={"channel": message.channel},
                    )
                    metrics.POLICY_DECISIONS.labels(Action.FAIL.value, QueueReason.NO_ROUTE.value).inc()
                else:
                    outlet = self._outlets[connector.name]
            else:
                metrics.POLICY_DECISIONS.labels(decision.action.value, _reason(transition)).inc()
            self._in_flight[message.id] = (message, outlet)
            if outlet is not None:
                assert outlet.dispatcher is not None
                outlet.in_flight += 1
                try:
                    await outlet.dispatcher.put(message, outlet.connector.cost(message))
                except ConnectorClosed:  # shutting down: never taken
                    self.writer.release([message.id])
            else:
                assert transition is not None
                self.writer.add(transition)
        metrics.IN_FLIGHT.set(len(self._in_flight))

    def _last_check(self, message: OutboundMessage) -> bool:
        """Ask the policy once more right before sending (a message may have waited behind a rate
        limit past its window or deadline, or its campaign been held); False: not sent, written back."""
        now = self._now()
        decision = self._gate.recheck(message, now)
        transition = rules.after_decision(message, decision, now)
        if transition is None:
            return True
        metrics.POLICY_DECISIONS.labels(decision.action.value, _reason(transition)).inc()
        log.info("engine.last_check", message_id=message.id, decision=decision.action.value, reason=_reason(transition))
        self.writer.add(transition)
        return False

    # ------------------------------------------------------------------ drain
    async def _drain(self) -> None:
        """Stop claiming (done), return untaken messages, wait for answers, flush."""
        released: set[int] = set()

        def release_untaken() -> None:
            ids = []
            for outlet in self._outlets.values():
                ids += [m.id for m in outlet.close()]
                if outlet.dispatcher is not None:
                    ids += [m.id for m in outlet.dispatcher.drain_waiting()]
            released.update(ids)
            self.writer.release(ids)

        release_untaken()
        with anyio.move_on_after(self.config.drain_seconds):
            async with anyio.create_task_group() as tg:
                for connector in self.connectors.values():
                    tg.start_soon(connector.drain)
            # A send blocked on a full window gets ConnectorClosed: its message
            # was never taken, give it back too.
            release_untaken()
            while len(self._in_flight) > len([m for m in released if m in self._in_flight]):
                self._room = anyio.Event()
                with anyio.move_on_after(0.1):
                    await self._room.wait()
        release_untaken()
        # Anything still unanswered may have reached the carrier: defer it flagged.
        leftover = [m for mid, (m, _) in self._in_flight.items() if mid not in released]
        for message in leftover:
            self.writer.add(rules.after_shutdown(message))
        await self.writer.flush()
        log.info("engine.drained", released=len(released), unanswered=len(leftover))

    # ------------------------------------------------------------------ housekeeping
    def _jobs(self) -> list[Job]:
        cfg = self.config
        return [
            Job("promote", 0.2, self._promote_due),
            Job("heartbeat", cfg.heartbeat_seconds, self._heartbeat),
            Job("recover", min(max(cfg.lease_seconds / 4, 0.5), 5.0), self._recover_leases),
            Job("pending", 2.0, self.store.match_pending_receipts),
            Job("orphans", 0.5, self._sweep_orphans),
            Job("partitions", 3600.0, self._maintain_partitions),
        ]

    async def _promote_due(self) -> None:
        if await self.store.promote_due(_BATCH_LIMIT):
            self._wake.set()

    async def _heartbeat(self) -> None:
        stats = {"in_flight": len(self._in_flight), "claimed": self.claimed_total}
        await self.store.heartbeat(self.instance, stats)
        for name, outlet in self._outlets.items():
            metrics.CONNECTOR_READY.labels(name).set(1 if outlet.connector.is_ready() else 0)

    async def _sweep_orphans(self) -> None:
        """Give back rows this run holds without knowing it: a claim committed but its answer lost with
        the connection, or a write-back dropped as a bad row. Soon after a failed claim, else every
        lease period."""
        now = time.monotonic()
        if not self._sweep_soon and now - self._last_sweep < max(self.config.lease_seconds, 1.0):
            return
        async with self._claiming:
            self._sweep_soon = False
            self._last_sweep = now
            n = await self.store.release_orphans(list(self._in_flight))
        if n:
            log.warning("engine.orphans.released", count=n)
            self._wake.set()

    async def _recover_leases(self) -> None:
        n = await self.store.recover_leases(_BATCH_LIMIT)
        if n:
            metrics.LEASE_RECOVERIES.inc(n)
            log.warning("engine.leases.recovered", count=n)
            self._wake.set()

    async def _receipt_timeouts(self) -> None:
        """Settle every connector's overdue messages now (asking the carrier first where it can)."""
        for name in self.connectors:
            timeout = self.receipt_timeout(name)
            if timeout > 0:
                await self._settle_overdue(name, timeout)

    async def _settle_overdue(self, name: str, after_seconds: float) -> None:
        """Messages of ``name`` past their receipt deadline: ask the carrier (``query_receipts``), apply
        the final answers as receipts, then settle the rest ``unknown`` (reason no_receipt)."""
        queries = await self.store.overdue_receipts(name, after_seconds, _BATCH_LIMIT)
        if queries:
            answers = await self.connectors[name].query_receipts(queries)
            final = [r for r in answers or () if r.state.message_state is not None]
            if final:
                await self.store_receipts(final)
                log.info("engine.receipts.queried", connector=name, asked=len(queries), answered=len(final))
        n = await self.store.receipt_timeouts(name, after_seconds, _BATCH_LIMIT)
        if n:
            log.info("engine.receipts.timed_out", connector=name, count=n)

    async def _receipt_deadline_loop(self) -> None:
        """Receipt timeouts within a second of their deadline, with no scan every second.

        Per connector, one index step (``next_receipt_deadline``, on
        messages_awaiting_receipt) says when the earliest submitted message falls
        due; the loop sleeps until then. A message submitted later falls due no
        earlier than ``now + timeout``, so the wait never exceeds the timeout (nor
        30 s, so that a changed timeout takes effect)."""
        due: dict[str, float] = {}
        while True:
            now = time.monotonic()
            wait = 30.0
            for name in self.connectors:
                timeout = self.receipt_timeout(name)
                if timeout <= 0:
                    continue
                when = due.get(name, now)
                if when <= now:
                    try:
                        await self._settle_overdue(name, timeout)
                        left = await self.store.next_receipt_deadline(name, timeout)
                    except Exception as exc:  # noqa: BLE001 - tried again shortly
                        metrics.DB_ERRORS.labels("receipt_timeouts").inc()
                        log.warning("engine.housekeeping.failed", job="receipt_timeouts", error=str(exc))
                        left = 1.0
                    horizon = timeout if left is None else min(max(left, 0.0), timeout)
                    when = due[name] = time.monotonic() + min(horizon, 30.0)
                wait = min(wait, when - now)
            await anyio.sleep(min(max(wait, 0.02), 30.0))

    async def _maintain_partitions(self) -> None:
        dropped = await self.store.maintain_partitions()
        if dropped:
            log.info("engine.partitions.dropped", count=dropped)


def _reason(transition: Transition) -> str:
    return str(transition.reason)
