"""The public names of gateway.ratelimit, pinned."""

from __future__ import annotations

import gateway.ratelimit as ratelimit


def test_public_names_are_pinned() -> None:
    """The package re-exports exactly these names, each importable from it."""
    assert sorted(ratelimit.__all__) == [
        "Aimd",
        "AimdConfig",
        "ClusterConfig",
        "ClusterTokens",
        "ConnectorLimitsConfig",
        "Dispatcher",
        "Lane",
        "LaneDemand",
        "Limit",
        "LimitTable",
        "LocalTokens",
        "Pacer",
        "PgRateStore",
        "RateLimitConfig",
        "RateSpec",
        "RateStore",
        "Routable",
        "Scheduler",
        "TokenBucket",
        "TokenSource",
        "Waiting",
    ]
    for name in ratelimit.__all__:
        assert getattr(ratelimit, name) is not None
