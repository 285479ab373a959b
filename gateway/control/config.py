"""Configuration of the control surface (``[control]`` in the TOML file)."""

from __future__ import annotations

from pydantic import Field

from gateway.configbase import ConfigModel

__all__ = ["ControlConfig"]


class ControlConfig(ConfigModel):
    # Pauses and rebinds arrive by NOTIFY at once; the table is also re-read this often.
    poll_seconds: float = Field(5.0, gt=0, le=300)
    # How often this instance publishes its connectors' state (gateway status, /status).
    status_seconds: float = Field(2.0, gt=0, le=300)
    # How often the queue depth per connector and sender is sampled (by one instance of the cluster).
    depth_seconds: float = Field(5.0, gt=0, le=3600)
    # Rows of instances stopped or silent for longer than this are deleted (one row per process run).
    instance_retention_seconds: float = Field(86_400.0, ge=60)
    # account_binds: an instance that cannot renew its bind slots within this closes its binds.
    bind_lease_seconds: float = Field(15.0, ge=3, le=600)
