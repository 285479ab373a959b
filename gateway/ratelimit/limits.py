"""The limits that apply to one connector's messages, each with its adaptive rate.

A message on connector ``c`` from sender ``s`` must pass the connector limit
(key ``c``) and the sender limit (key ``c|s``), whichever of them are
configured. Sender limits are per connector because carriers and providers
sell them per account. Per-bind limits live inside the SMPP connector, which
can use a :class:`~gateway.ratelimit.bucket.TokenBucket` (or
:class:`~gateway.ratelimit.pacer.Pacer`) of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from gateway.ratelimit import metrics
from gateway.ratelimit.adaptive import ADAPTIVE_LABEL, AdaptiveRate
from gateway.ratelimit.aimd import Aimd
from gateway.ratelimit.config import ConnectorLimitsConfig, RateSpec

__all__ = ["OTHER_SENDERS", "Limit", "LimitTable"]

log = structlog.get_logger("gateway.ratelimit")

OTHER_SENDERS = "sender:other"  # the metric label of senders that have no limit of their own
CONNECTOR_LABEL = "connector"


@dataclass(slots=True, eq=False)
class Limit:
    """One rate limit: its key (shared by every instance), configured spec and adaptive rate."""

    key: str
    connector: str
    label: str  # for metrics: "connector", "sender:<configured sender>" or "sender:other"
    spec: RateSpec
    aimd: Aimd

    @property
    def rate(self) -> float:
        """The effective rate now (the configured one unless throttling lowered it)."""
        return self.aimd.rate

    @property
    def burst(self) -> float:
        """The burst, lowered in proportion to the rate (never below one unit or the configured burst)."""
        return max(min(1.0, self.spec.burst), self.spec.burst * self.aimd.fraction)


def sender_key(connector: str, sender: str) -> str:
    return f"{connector}|{sender}"


class LimitTable:
    """The limits of one connector; sender limits are made on first use."""

    def __init__(self, connector: str, config: ConnectorLimitsConfig) -> None:
        self.connector = connector
        self.config = config
        spec = config.connector_spec
        self._configured: Limit | None = (
            None if spec is None else Limit(connector, connector, CONNECTOR_LABEL, spec, Aimd(spec.rate, config.aimd))
        )
        # Learnt from throttling when no configured limit takes the feedback (gateway.ratelimit.adaptive).
        self.adaptive: AdaptiveRate | None = AdaptiveRate(config.aimd) if config.adaptive else None
        self._adaptive_limit: Limit | None = None
        self._senders: dict[str, Limit | None] = {}
        if self.connector_limit is not None:
            self._publish(self.connector_limit)
        for sender in config.senders:
            limit = self.sender_limit(sender)
            assert limit is not None
            self._publish(limit)
        if config.default_sender is not None:
            # Senders without a limit of their own share one gauge: the lowest of their rates.
            default = config.default_sender.rate
            metrics.EFFECTIVE_RATE.labels(connector, OTHER_SENDERS).set_function(
                lambda: min(
                    (s.rate for s in self._senders.values() if s is not None and s.label == OTHER_SENDERS),
                    default=default,
                )
            )

    @property
    def connector_limit(self) -> Limit | None:
        """The connector's limit: the configured one, else the adaptive one while it is engaged."""
        return self._configured if self._configured is not None else self._adaptive_limit

    def sender_limit(self, sender: str) -> Limit | None:
        try:
            return self._senders[sender]
        except KeyError:
            pass
        spec = self.config.sender_spec(sender)
        limit = None
        if spec is not None:
            label = f"sender:{sender}" if sender in self.config.senders else OTHER_SENDERS
            limit = Limit(
                sender_key(self.connector, sender), self.connector, label, spec, Aimd(spec.rate, self.config.aimd)
            )
        self._senders[sender] = limit
        return limit

    def limits_for(self, sender: str) -> tuple[Limit, ...]:
        """Every limit a message from ``sender`` must pass, the sender's first."""
        found = [self.sender_limit(sender), self.connector_limit]
        return tuple(limit for limit in found if limit is not None)

    def _feedback_targets(self, sender: str) -> list[Limit]:
        scope = self.config.feedback
        targets: list[Limit | None] = []
        if scope in ("sender", "both"):
            targets.append(self.sender_limit(sender))
        if scope in ("connector", "both"):
            targets.append(self.connector_limit)
        return [t for t in targets if t is not None]

    def throttled(self, sender: str, now: float) -> bool:
        """A throttling answer for a message from ``sender``; True when a rate was lowered."""
        metrics.THROTTLE_EVENTS.labels(self.connector).inc()
        lowered = False
        # The adaptive limit (engaged as the connector limit) follows its own rules: not plain AIMD.
        targets = [t for t in self._feedback_targets(sender) if t is not self._adaptive_limit]
        if not targets and self.adaptive is not None and self._configured is None:
            return self._adapt_down(now)
        for limit in targets:
            if limit.aimd.on_throttle(now):
                lowered = True
                self._publish(limit)
                log.warning(
                    "ratelimit.rate.decreased",
                    connector=self.connector,
                    limit=limit.label,
                    rate=round(limit.rate, 3),
                    configured=limit.spec.rate,
                )
        return lowered

    def succeeded(self, sender: str, now: float) -> bool:
        """An accepted send from ``sender``; True when a rate was raised."""
        raised = False
        adaptive = self.adaptive
        if adaptive is not None and self._configured is None and adaptive.succeeded(now):
            self._adapted(now)
            raised = True
        for limit in self._feedback_targets(sender):
            if limit is self._adaptive_limit:
                continue
            if limit.aimd.on_success(now):
                raised = True
                self._publish(limit)
                if limit.rate >= limit.spec.rate:
                    log.info("ratelimit.rate.restored", connector=self.connector, limit=limit.label, rate=limit.rate)
        return raised

    def _adapt_down(self, now: float) -> bool:
        assert self.adaptive is not None
        lowered = self.adaptive.throttled(now)
        self._adapted(now)
        if lowered:
            log.warning("ratelimit.adaptive.lowered", connector=self.connector, rate=round(self.adaptive_rate or 0, 3))
        return lowered

    @property
    def adaptive_rate(self) -> float | None:
        """The learnt rate while engaged, else None (unlimited)."""
        limit = self._adaptive_limit
        return None if limit is None else limit.rate

    def _adapted(self, now: float) -> None:
        adaptive = self.adaptive
        assert adaptive is not None
        if adaptive.aimd is None:
            if self._adaptive_limit is not None:
                log.info("ratelimit.adaptive.released", connector=self.connector)
                metrics.EFFECTIVE_RATE.labels(self.connector, ADAPTIVE_LABEL).set(0)
            self._adaptive_limit = None
            return
        if self._adaptive_limit is None or self._adaptive_limit.aimd is not adaptive.aimd:
            assert adaptive.spec is not None
            self._adaptive_limit = Limit(
                f"{self.connector}|{ADAPTIVE_LABEL}", self.connector, ADAPTIVE_LABEL, adaptive.spec, adaptive.aimd
            )
        metrics.EFFECTIVE_RATE.labels(self.connector, ADAPTIVE_LABEL).set(self._adaptive_limit.rate)

    def _publish(self, limit: Limit) -> None:
        if limit.label != OTHER_SENDERS:  # "other" is read at scrape time (set_function above)
            metrics.EFFECTIVE_RATE.labels(self.connector, limit.label).set(limit.rate)
