"""Typed configuration of one SMPP connector (one carrier account)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from gateway.configbase import ConfigModel


class SmppConnectorConfig(ConfigModel):
    type: Literal["smpp"] = "smpp"
    name: str
    channel: Literal["sms"] = "sms"
    host: str = "127.0.0.1"
    port: int = Field(2775, ge=1, le=65535)
    system_id: str
    password: SecretStr = SecretStr("")
    system_type: str = ""
    bind_mode: Literal["transceiver", "transmitter"] = "transceiver"
    binds: int = Field(1, ge=1, le=64)
    window: int = Field(64, ge=1, le=1024)
