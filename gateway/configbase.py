"""Shared base for every typed configuration object (pydantic, strict about unknown keys)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = ["ConfigModel", "require_secret"]


class ConfigModel(BaseModel):
    """Frozen, rejects unknown keys so a typo in the TOML is an error naming the key."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def require_secret(value: SecretStr | None) -> SecretStr | None:
    """A secret that is given must not be empty (an empty ``${VAR}`` is a mistake, not a password).

    For a field validator: the value is never echoed."""
    if value is not None and not value.get_secret_value():
        raise ValueError("is empty (an environment variable set to nothing?); give a value or leave the key out")
    return value
