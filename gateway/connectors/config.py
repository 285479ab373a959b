"""Configuration of the built-in loopback connector."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.configbase import ConfigModel

__all__ = ["LoopbackConnectorConfig"]


class LoopbackConnectorConfig(ConfigModel):
    """Accepts everything (for tests, benchmarks and the demo)."""

    type: Literal["loopback"] = "loopback"
    name: str
    channel: Literal["sms", "alimtalk"] = "sms"
    delay_ms: float = Field(0.0, ge=0)
    failure_rate: float = Field(0.0, ge=0, le=1)
    throttle_rate: float = Field(0.0, ge=0, le=1)
    receipts: bool = True
    receipt_delay_ms: float = Field(0.0, ge=0)
    # Fraction of receipts that say undeliverable instead of delivered.
    undeliverable_rate: float = Field(0.0, ge=0, le=1)
    window: int = Field(1000, ge=1)
    seed: int | None = None
    # Submitted messages with no receipt after this long become `unknown`; None: the engine's setting.
    receipt_timeout_seconds: float | None = Field(None, ge=0)
