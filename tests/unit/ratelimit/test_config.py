"""The typed configuration of the limits: the documented TOML shape, defaults, refusals."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

import gateway.ratelimit.config as config_module
from gateway.ratelimit import RateLimitConfig, RateSpec


def documented_toml() -> str:
    doc = config_module.__doc__ or ""
    block = doc.split("The TOML shape::", 1)[1]
    return "\n".join(line[4:] for line in block.splitlines() if line.startswith("    ") or not line.strip())


def test_the_documented_toml_example_loads() -> None:
    """The TOML snippet in the module docstring parses into the typed config it describes."""
    cfg = RateLimitConfig.model_validate(tomllib.loads(documented_toml())["ratelimit"])
    kt = cfg.for_connector("kt-main")
    assert kt.connector_spec == RateSpec(rate=300, burst=30)
    assert kt.sender_spec("1588-0000") == RateSpec(rate=50, burst=10)
    assert kt.sender_spec("02-123-4567") == RateSpec(rate=100, burst=10)
    assert cfg.cluster.enabled and cfg.max_waiting == 20_000


def test_an_unlisted_connector_is_unlimited() -> None:
    """A connector without a [ratelimit.connectors.<name>] table has no limits at all."""
    cfg = RateLimitConfig()
    assert cfg.for_connector("x").connector_spec is None
    assert cfg.for_connector("x").sender_spec("1234") is None


def test_a_missing_burst_defaults_to_a_tenth_of_a_second() -> None:
    """rate without burst gets a burst of rate/10 (at least one unit)."""
    cfg = RateLimitConfig.model_validate({"connectors": {"a": {"rate": 300}, "b": {"rate": 5}}})
    assert cfg.for_connector("a").connector_spec == RateSpec(rate=300, burst=30)
    assert cfg.for_connector("b").connector_spec == RateSpec(rate=5, burst=1)


@pytest.mark.parametrize(
    "bad",
    [
        {"connectors": {"a": {"rate": 0}}},
        {"connectors": {"a": {"burst": 5}}},
        {"connectors": {"a": {"rate": 5, "brust": 5}}},
        {"connectors": {"a": {"senders": {"1588": {"rate": 5}}}}},
        {"connectors": {"a": {"aimd": {"decrease_factor": 1.5}}}},
        {"cluster": {"min_poll_seconds": 1.0, "max_poll_seconds": 0.5}},
    ],
)
def test_invalid_settings_are_refused(bad: dict) -> None:
    """Zero rates, a burst without a rate, typos, missing fields and impossible factors are errors."""
    with pytest.raises(ValidationError):
        RateLimitConfig.model_validate(bad)
