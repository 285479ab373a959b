"""Shared base for every typed configuration object (pydantic, strict about unknown keys)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigModel(BaseModel):
    """Frozen, rejects unknown keys so a typo in the TOML is an error naming the key."""

    model_config = ConfigDict(extra="forbid", frozen=True)
