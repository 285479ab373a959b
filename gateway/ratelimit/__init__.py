"""Rate limits between routing and ``connector.send``: per sender, per connector, cluster-wide.

The engine puts each routed message into the :class:`Dispatcher` of its
connector; the dispatcher holds it in its sender's lane until every limit
that applies has room, then calls the connector's ``send``. Limits adapt to
throttling answers (:class:`Aimd`) and, with :class:`ClusterTokens`, are
shared by every instance through PostgreSQL.

Modules: ``bucket`` (the pure limiter core), ``aimd`` (adaptive rate),
``lanes`` and ``scheduler`` (pure ordering and admission), ``tokens`` (local
token source), ``cluster`` and ``store`` (cluster-wide tokens), ``dispatcher``
(the async pump), ``pacer`` (an awaitable bucket for per-bind limits),
``config``, ``metrics``.
"""

from gateway.ratelimit.aimd import Aimd
from gateway.ratelimit.bucket import TokenBucket
from gateway.ratelimit.cluster import ClusterTokens
from gateway.ratelimit.config import (
    AimdConfig,
    ClusterConfig,
    ConnectorLimitsConfig,
    RateLimitConfig,
    RateSpec,
)
from gateway.ratelimit.dispatcher import Dispatcher, Routable
from gateway.ratelimit.lanes import Lane, Waiting
from gateway.ratelimit.limits import Limit, LimitTable
from gateway.ratelimit.pacer import Pacer
from gateway.ratelimit.scheduler import Scheduler
from gateway.ratelimit.store import PgRateStore, RateStore
from gateway.ratelimit.tokens import LaneDemand, LocalTokens, TokenSource

__all__ = [
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
