"""Typed configuration of the rate limits (frozen value objects, named defaults).

Units are *cost units* per second: SMS segments for SMPP connectors (a
3-part message costs 3), messages for Alimtalk. The TOML shape::

    [ratelimit]
    max_waiting = 20000                  # messages held in lanes per connector before put() blocks

    [ratelimit.cluster]
    enabled = "auto"                     # share the limits with the other instances through PostgreSQL
                                         # ("auto": whenever a limit is configured; true; false)
    min_poll_seconds = 0.02

    [ratelimit.connectors.kt-main]
    rate = 300                           # segments/s for the whole account
    burst = 30
    default_sender = { rate = 100, burst = 10 }
    senders = { "1588-0000" = { rate = 50, burst = 10 } }
    feedback = "both"                    # what a throttling error lowers: connector, sender or both
    adaptive = true                      # no rate to lower: learn one from the throttling (the default)

    [ratelimit.connectors.kt-main.aimd]
    decrease_factor = 0.5
    floor_fraction = 0.05
    cooldown_seconds = 1.0
    increase_fraction_per_second = 0.05
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gateway.configbase import ConfigModel

__all__ = [
    "AimdConfig",
    "ClusterConfig",
    "ConnectorLimitsConfig",
    "RateLimitConfig",
    "RateSpec",
]


class RateSpec(ConfigModel):
    """A sustained rate (units/s) and the burst (units) allowed at once after idling."""

    rate: float = Field(gt=0)
    burst: float = Field(gt=0)


class AimdConfig(ConfigModel):
    """Adaptive rate: halve on throttling, creep back to the configured rate."""

    enabled: bool = True
    decrease_factor: float = Field(0.5, gt=0, lt=1)
    floor_fraction: float = Field(0.05, gt=0, le=1)  # never below this share of the configured rate
    cooldown_seconds: float = Field(1.0, ge=0)  # throttles within this after a decrease count once
    increase_fraction_per_second: float = Field(0.05, gt=0)  # of the configured rate, per second of success


class ConnectorLimitsConfig(ConfigModel):
    """The limits of one connector (one carrier or provider account).

    ``rate``/``burst`` limit the account as a whole; ``senders`` names limits
    for given senders and ``default_sender`` applies to every other sender
    (no per-sender limit when it is absent). A message passes only when every
    limit that applies to it has room.
    """

    rate: float | None = Field(None, gt=0)
    burst: float | None = Field(None, gt=0)
    default_sender: RateSpec | None = None
    senders: dict[str, RateSpec] = Field(default_factory=dict)
    feedback: Literal["connector", "sender", "both"] = "both"
    aimd: AimdConfig = AimdConfig()
    # With no limit that a throttle can lower (no rate, or feedback to limits not set), learn
    # one from the throttling itself (gateway.ratelimit.adaptive). On for every connector.
    adaptive: bool = True

    @model_validator(mode="after")
    def _rate_and_burst_together(self) -> ConnectorLimitsConfig:
        if self.burst is not None and self.rate is None:
            raise ValueError("burst is set but rate is not")
        return self

    @property
    def connector_spec(self) -> RateSpec | None:
        if self.rate is None:
            return None
        # A burst of a tenth of a second (at least one unit) when none is given.
        burst = self.burst if self.burst is not None else max(1.0, self.rate / 10)
        return RateSpec(rate=self.rate, burst=burst)

    def sender_spec(self, sender: str) -> RateSpec | None:
        return self.senders.get(sender, self.default_sender)


class ClusterConfig(ConfigModel):
    """Sharing the limits between instances through ``gateway.rate_buckets``.

    Tokens are granted in small chunks by an atomic UPDATE of one bucket row
    per limit; an instance holds at most ``min(burst, rate * lookahead_seconds)``
    (or one message's cost) that it has not spent.

    ``enabled = "auto"`` (the default) shares them whenever any limit is
    configured: a limit is the carrier's, and several instances must not each
    take all of it. ``false`` keeps per-instance buckets (one instance only).
    """

    enabled: bool | Literal["auto"] = "auto"
    min_poll_seconds: float = Field(0.02, gt=0)  # at most this often per limit while starved
    max_poll_seconds: float = Field(0.25, gt=0)  # re-ask at least this often while starved
    lookahead_seconds: float = Field(0.1, gt=0)  # chunk size, in seconds of the rate
    heartbeat_seconds: float = Field(1.0, gt=0)
    liveness_seconds: float = Field(5.0, gt=0)  # a holder unseen this long no longer counts
    outage_grace_seconds: float = Field(5.0, ge=0)  # send at rate/N_seen this long when PostgreSQL is away

    @model_validator(mode="after")
    def _poll_bounds(self) -> ClusterConfig:
        if self.max_poll_seconds < self.min_poll_seconds:
            raise ValueError("max_poll_seconds is below min_poll_seconds")
        return self


class RateLimitConfig(ConfigModel):
    max_waiting: int = Field(10_000, ge=1)
    connectors: dict[str, ConnectorLimitsConfig] = Field(default_factory=dict)
    cluster: ClusterConfig = ClusterConfig()

    @property
    def has_limits(self) -> bool:
        """Some connector has a rate limit (its own or a sender's)."""
        return any(
            c.connector_spec is not None or c.default_sender is not None or c.senders for c in self.connectors.values()
        )

    @property
    def cluster_enabled(self) -> bool:
        """Whether the limits are shared through PostgreSQL (``cluster.enabled``, "auto" resolved)."""
        if self.cluster.enabled == "auto":
            return self.has_limits
        return bool(self.cluster.enabled)

    def for_connector(self, name: str) -> ConnectorLimitsConfig:
        """The limits of a connector; none (unlimited) when it is not listed."""
        return self.connectors.get(name, ConnectorLimitsConfig())
