"""The queue engine's own configuration (``[engine]`` and ``[routing]`` in the TOML file).

Importing it loads no connector: the engine depends on these types only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.configbase import ConfigModel

__all__ = ["EngineConfig", "RetryConfig", "RouteRule", "RoutingConfig"]


class RetryConfig(ConfigModel):
    max_attempts: int = Field(5, ge=1, le=100)
    base_seconds: float = Field(2.0, gt=0)
    max_seconds: float = Field(600.0, gt=0)
    # Full jitter: the delay is uniform in [d * (1 - jitter), d].
    jitter: float = Field(0.5, ge=0, le=1)
    # Back-off when a carrier throttles (not counted as an attempt).
    throttled_seconds: float = Field(1.0, gt=0)
    # Retry a message whose outcome is unknown (timeout, lost bind)? It may then be delivered twice.
    retry_unknown: bool = True
    # Resends after an unknown outcome, at most (a timeout, a lost bind, a crash, a shutdown):
    # a silent SMSC gets each message at most 1 + this many times; the next unknown outcome
    # settles it `unknown` (reason max_unknown_resends). Separate from max_attempts.
    max_unknown_resends: int = Field(1, ge=0, le=100)


class EngineConfig(ConfigModel):
    # Rows per claim statement. Each claimed batch is read and decided in one go on the event loop:
    # smaller batches keep that from holding up the binds (200 beat 500 side by side, sbs.py).
    claim_batch: int = Field(200, ge=1, le=10000)
    # How many claimed messages may be in flight (claimed, not yet written back) per instance.
    max_in_flight: int = Field(5000, ge=1, le=1_000_000)
    # A run's claimed rows are given back (flagged) this long after its last heartbeat.
    lease_seconds: float = Field(30.0, ge=2)
    flush_interval_ms: int = Field(20, ge=1, le=5000)
    flush_max_rows: int = Field(1000, ge=1, le=100_000)
    idle_poll_ms: int = Field(500, ge=10, le=60_000)
    # A notification of new rows is debounced by this much before claiming.
    notify_debounce_ms: int = Field(5, ge=0, le=5000)
    drain_seconds: float = Field(20.0, ge=0)
    heartbeat_seconds: float = Field(2.0, gt=0)
    # An instance whose heartbeat is older than this is considered gone (status, rate shares).
    instance_timeout_seconds: float = Field(15.0, gt=0)
    # Messages with no receipt after this long become `unknown` (0 = never).
    receipt_timeout_seconds: float = Field(72 * 3600, ge=0)
    # At most what a connector can have outstanding (SMPP: window x binds) may have
    # been handed over without its outcome committed: a crash then duplicates at
    # most that many. Kept by pipelined group commits (docs/guarantees.md).
    bound_unrecorded: bool = True
    # Record each message in the send journal before it is handed over, so that
    # after a crash only messages that may have reached the carrier are flagged
    # as possible duplicates, and the others are sent again at once, unflagged.
    journal: bool = True
    # How far the journal may run ahead of the sends per connector (0: half the
    # connector's duplicate bound, at least 32; 256 without a bound).
    journal_ahead: int = Field(0, ge=0, le=100_000)
    # With the journal on (the carrier's acceptance is on disk there first), an accepted one-part
    # submit waits up to this long for its receipt before its row is written, so that a quick
    # receipt is written with it: the row goes in final at once (one write instead of an insert,
    # a pending receipt and two updates). The state `submitted` shows up that much later in
    # gateway.messages (submitted_at keeps the carrier's acceptance time). 0: write at once.
    receipt_linger_ms: int = Field(250, ge=0, le=10_000)
    retry: RetryConfig = RetryConfig()


class RouteRule(ConfigModel):
    """First matching rule wins; unset fields match anything."""

    connector: str
    channel: Literal["sms", "alimtalk"] | None = None
    sender: str | None = None
    # Recipient prefix in E.164, e.g. "+8210".
    recipient_prefix: str | None = None


class RoutingConfig(ConfigModel):
    rules: tuple[RouteRule, ...] = ()
    # Connector used per channel when no rule matched.
    default: dict[Literal["sms", "alimtalk"], str] = Field(default_factory=dict)
