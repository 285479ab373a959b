"""HTTP provider plumbing shared by the HTTP connectors (a room below them).

* :mod:`~gateway.httpclient.transport`: :class:`AiohttpTransport` (one pooled
  keep-alive aiohttp session per provider account), :class:`HttpRequest`,
  :class:`HttpResponse`, the :class:`Transport` interface tests can replace;
* :mod:`~gateway.httpclient.errors`: the provider error hierarchy, with
  ``maybe_sent`` telling whether a failed request may have been processed;
* :mod:`~gateway.httpclient.breaker`: :class:`CircuitBreaker` on an injected clock;
* :mod:`~gateway.httpclient.webhook`: token / HMAC checks and a bounded body reader.

The NHN Cloud SMS connector uses it. It holds the same pieces as
``gateway/kakao/{transport,errors,resilience}.py`` and the token check of
``gateway/kakao/webhook.py``, with the same names and behaviour, so that the
Kakao connector can be switched over to it.
"""

from gateway.httpclient.breaker import BreakerState, CircuitBreaker
from gateway.httpclient.errors import (
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
)
from gateway.httpclient.transport import AiohttpTransport, HttpRequest, HttpResponse, Transport
from gateway.httpclient.webhook import hmac_matches, read_limited, sign_body, token_matches

__all__ = [
    "AiohttpTransport",
    "BreakerState",
    "CircuitBreaker",
    "HttpRequest",
    "HttpResponse",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRejected",
    "ProviderThrottled",
    "ProviderUnavailable",
    "Transport",
    "hmac_matches",
    "read_limited",
    "sign_body",
    "token_matches",
]
