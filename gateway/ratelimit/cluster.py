"""Cluster-wide limits: tokens granted in small chunks from buckets in PostgreSQL.

Every limit key has one bucket row in ``gateway.rate_buckets``. An instance
that has messages waiting takes tokens from it with one atomic statement
(``take_tokens``: refill on the server's clock, cap at burst, grant what is
there up to what was asked), holds them, and spends them locally. Whatever
the number of instances, the grants over any window of ``W`` seconds are at
most ``rate * W + burst``, because there is one bucket; the tokens an
instance spends in a window are at most its grants in that window plus what
it held at its start, and it never holds more than one chunk,
``min(burst, rate * lookahead_seconds)`` (or one message's cost). So
``N`` instances stay within ``rate * W + burst + N * chunk``: for 1,000/s,
burst 100, lookahead 0.1 s and 3 instances, at most 4 % over in a 10 s window,
in practice far less, since a chunk is spent as soon as it arrives.

Why grants rather than leased shares: a share (``rate * my_demand / total``)
is computed by each instance from a snapshot of the others' demand taken at
a different moment, so the shares of a changing cluster do not add up to the
rate, and an instance that dies keeps its share until its lease expires.
With grants the bucket is the only truth, idle capacity goes to whoever has
work, and a dead instance frees its share at once (it only loses the chunk it
held).

Polling: an instance asks only for keys whose messages wait, at most every
``min_poll_seconds``; after a partial grant (the bucket ran dry) it asks again
when about half a chunk has refilled. The bucket holds ``burst``, so as long
as ``burst >= 2 * rate * min_poll_seconds`` nothing is lost between polls.

When PostgreSQL cannot be reached the instance spends what it holds, then
sends at ``rate / live holders`` (as last seen) from an empty local bucket for
``outage_grace_seconds``, then stops until the database answers again: by
then the others may consider it dead and use the whole bucket. A key it
never heartbeated gets no fallback at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from anyio.abc import TaskStatus

from gateway.errors import DatabaseError
from gateway.ratelimit import metrics
from gateway.ratelimit.bucket import TokenBucket
from gateway.ratelimit.config import ClusterConfig
from gateway.ratelimit.limits import Limit
from gateway.ratelimit.store import RateStore
from gateway.ratelimit.tokens import DemandFn, WakeFn

__all__ = ["ClusterTokens"]

log = structlog.get_logger("gateway.ratelimit")

_EPSILON = 1e-9
_IDLE_FORFEIT_SECONDS = 1.0  # unspent tokens of a key without demand for this long are dropped
_MAX_BACKOFF_SECONDS = 1.0

Request = tuple[str, float, float, float]  # key, want, rate, burst


@dataclass(slots=True, eq=False)
class _Key:
    limit: Limit
    held: float = 0.0
    next_poll_at: float = -math.inf
    active_at: float = -math.inf  # when it last had demand
    holders: int = 0  # live instances taking from it, this one included (0: never heard)
    fallback: TokenBucket | None = None


class ClusterTokens:
    """A :class:`~gateway.ratelimit.tokens.TokenSource` backed by ``gateway.rate_buckets``.

    One per process, shared by every dispatcher; run :meth:`run` in the task
    group that runs them. ``instance`` is this daemon's instance name.
    """

    def __init__(
        self,
        store: RateStore,
        *,
        instance: str,
        config: ClusterConfig = ClusterConfig(enabled=True),
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self._store = store
        self.instance = instance
        self.config = config
        self._clock = clock
        self._keys: dict[str, _Key] = {}
        self._schedulers: dict[WakeFn, DemandFn] = {}
        self._event = anyio.Event()
        self._heartbeat_due = -math.inf
        self._outage_since: float | None = None
        self._paused_logged = False
        self._failures = 0
        self._retry_at = -math.inf

    # ------------------------------------------------------------ TokenSource
    def wait_time(self, limit: Limit, cost: float, now: float) -> float:
        key = self._key(limit)
        if key.held + _EPSILON >= cost:
            return 0.0
        fallback = self._fallback(key, now)
        if fallback is not None:
            return fallback.wait_time(cost, now)
        return math.inf

    def consume(self, limit: Limit, cost: float, now: float) -> None:
        key = self._key(limit)
        fallback = self._fallback(key, now)
        if key.held + _EPSILON >= cost or fallback is None:
            key.held -= cost
        else:
            fallback.consume(cost, now)
        self._event.set()

    def attach(self, demand: DemandFn, wake: WakeFn) -> None:
        self._schedulers[wake] = demand
        self._event.set()

    def detach(self, wake: WakeFn) -> None:
        self._schedulers.pop(wake, None)

    def demand_changed(self) -> None:
        self._event.set()

    # ------------------------------------------------------------ state
    @property
    def in_outage(self) -> bool:
        return self._outage_since is not None

    def held(self, key: str) -> float:
        state = self._keys.get(key)
        return 0.0 if state is None else state.held

    def _key(self, limit: Limit) -> _Key:
        key = self._keys.get(limit.key)
        if key is None:
            key = self._keys[limit.key] = _Key(limit)
        return key

    def _activate(self, state: _Key, now: float) -> None:
        if state.holders == 0 and now - state.active_at > self.config.liveness_seconds:
            self._heartbeat_due = -math.inf  # new work on this key: learn who else takes from it
        state.active_at = now

    def _chunk(self, limit: Limit) -> float:
        return min(limit.burst, max(1.0, limit.rate * self.config.lookahead_seconds))

    def _fallback(self, key: _Key, now: float) -> TokenBucket | None:
        if self._outage_since is None or key.fallback is None:
            return None
        if now - self._outage_since > self.config.outage_grace_seconds:
            return None
        rate, burst = key.limit.rate / key.holders, key.limit.burst / key.holders
        if key.fallback.rate != rate or key.fallback.burst != burst:
            key.fallback.set_rate(rate, burst, now)
        return key.fallback

    # ------------------------------------------------------------ planning (no I/O, ``now`` given)
    def plan(self, now: float) -> tuple[list[Request], float]:
        """The requests due now, and when the next one falls due (``math.inf``: none waiting)."""
        targets: dict[str, tuple[Limit, float]] = {}
        connectors: dict[str, list[Any]] = {}  # key -> [limit, usable demand, largest cost]
        for demand in list(self._schedulers.values()):
            for lane in demand():
                usable = lane.cost
                if lane.sender is not None:
                    state = self._key(lane.sender)
                    self._activate(state, now)
                    target = min(lane.cost, max(self._chunk(lane.sender), lane.max_cost))
                    targets[lane.sender.key] = (lane.sender, target)
                    usable = min(lane.cost, max(state.held, target))
                if lane.connector is not None:
                    entry = connectors.setdefault(lane.connector.key, [lane.connector, 0.0, 0.0])
                    entry[1] += usable
                    entry[2] = max(entry[2], lane.max_cost)
        for key, (limit, usable, largest) in connectors.items():
            self._activate(self._key(limit), now)
            targets[key] = (limit, min(usable, max(self._chunk(limit), largest)))
        requests: list[Request] = []
        next_due = math.inf
        soon = now + self.config.min_poll_seconds / 2
        for key, (limit, target) in targets.items():
            state = self._keys[key]
            want = target - state.held
            if want <= _EPSILON:
                continue
            if state.next_poll_at <= soon:
                requests.append((key, want, limit.rate, limit.burst))
            else:
                next_due = min(next_due, state.next_poll_at)
        for state in self._keys.values():
            if state.held > 0 and now - state.active_at > _IDLE_FORFEIT_SECONDS:
                state.held = 0.0  # do not sit on tokens nobody here needs
        return requests, next_due

    def granted(self, requests: Sequence[Request], grants: Mapping[str, float], now: float) -> None:
        """Apply the answer to :meth:`plan`'s requests."""
        cfg = self.config
        for key, want, rate, _burst in requests:
            got = max(0.0, grants.get(key, 0.0))
            state = self._keys[key]
            state.held += got
            missing = want - got
            if missing <= _EPSILON:
                state.next_poll_at = now + cfg.min_poll_seconds
            else:  # the bucket ran dry: come back when about half of what is missing has refilled
                state.next_poll_at = now + min(cfg.max_poll_seconds, max(cfg.min_poll_seconds, missing / rate / 2))
        self._recovered(now)
        self._wake_all()

    def heard(self, holders: Mapping[str, int], now: float) -> None:
        """Apply a heartbeat's answer: how many live instances take from each key."""
        for key, count in holders.items():
            state = self._keys.get(key)
            if state is not None:
                state.holders = max(1, count)
        self._heartbeat_due = now + self.config.heartbeat_seconds
        self._recovered(now)

    def failed(self, error: Exception, now: float) -> None:
        """A database exchange failed: fall back, and retry with backoff."""
        self._failures += 1
        metrics.SYNC_FAILURES.inc()
        if self._outage_since is None:
            self._outage_since = now
            self._paused_logged = False
            for state in self._keys.values():
                if state.holders > 0:
                    h = state.holders
                    state.fallback = TokenBucket.empty(state.limit.rate / h, state.limit.burst / h, now)
        self._retry_at = now + min(_MAX_BACKOFF_SECONDS, 0.05 * 2 ** (self._failures - 1))
        log.warning("ratelimit.sync.failed", error=str(error), failures=self._failures, instance=self.instance)
        self._wake_all()

    def _recovered(self, now: float) -> None:
        if self._outage_since is None:
            return
        log.info("ratelimit.sync.recovered", seconds=round(now - self._outage_since, 3), instance=self.instance)
        self._outage_since = None
        self._failures = 0
        self._retry_at = -math.inf
        for state in self._keys.values():
            state.fallback = None
        self._wake_all()

    def _check_paused(self, now: float) -> None:
        if self._outage_since is None or self._paused_logged:
            return
        if now - self._outage_since > self.config.outage_grace_seconds:
            self._paused_logged = True
            log.error("ratelimit.sync.paused", seconds=round(now - self._outage_since, 3), instance=self.instance)

    def _wake_all(self) -> None:
        for wake in list(self._schedulers):
            wake()

    # ------------------------------------------------------------ the loop
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Take tokens for the attached dispatchers until cancelled; give back what is left then."""
        cfg = self.config
        try:
            await self._store.prune(max(3600.0, 10 * cfg.liveness_seconds))
        except DatabaseError as exc:
            log.warning("ratelimit.sync.failed", error=str(exc), instance=self.instance)
        task_status.started()
        try:
            while True:
                self._event = anyio.Event()
                now = self._clock()
                if now < self._retry_at:
                    await anyio.sleep(self._retry_at - now)
                    continue
                self._check_paused(now)
                if now >= self._heartbeat_due:
                    keys = [k for k, s in self._keys.items() if now - s.active_at <= cfg.liveness_seconds]
                    if not keys:
                        self._heartbeat_due = now + cfg.heartbeat_seconds
                    else:
                        try:
                            holders = await self._store.heartbeat(self.instance, keys, cfg.liveness_seconds)
                        except DatabaseError as exc:
                            self.failed(exc, self._clock())
                            continue
                        self.heard(holders, self._clock())
                requests, next_due = self.plan(now)
                if requests:
                    try:
                        grants = await self._store.take(requests)
                    except DatabaseError as exc:
                        self.failed(exc, self._clock())
                        continue
                    self.granted(requests, grants, self._clock())
                    continue
                wake_at = min(next_due, self._heartbeat_due)
                delay = None if math.isinf(wake_at) else max(0.0, wake_at - self._clock())
                with anyio.move_on_after(delay):
                    await self._event.wait()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2.0):
                await self._give_back()

    async def _give_back(self) -> None:
        unspent = {k: s.held for k, s in self._keys.items() if s.held > 0}
        for state in self._keys.values():
            state.held = 0.0
        try:
            await self._store.give_back(unspent)
            await self._store.forget(self.instance)
        except DatabaseError as exc:
            log.warning("ratelimit.release.failed", error=str(exc), instance=self.instance)
