"""HTTP provider plumbing shared by the HTTP connectors (a room below them).

* :mod:`~gateway.httpclient.transport`: :class:`AiohttpTransport` (one pooled
  keep-alive aiohttp session per provider account), :class:`HttpRequest`,
  :class:`HttpResponse`, the :class:`Transport` interface tests can replace;
* :mod:`~gateway.httpclient.errors`: the provider error hierarchy, with
  ``maybe_sent`` telling whether a failed request may have been processed;
* :mod:`~gateway.httpclient.breaker`: :class:`CircuitBreaker` on an injected clock;
* :mod:`~gateway.httpclient.webhook`: token / HMAC checks and a bounded body reader.

The NHN Cloud SMS and the Kakao Alimtalk connectors use it; each keeps only
what is its provider's (the API codec, result codes, the webhook's bodies).
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
from gateway.httpclient.webhook import hmac_matches, read_limited, sign_body, signature_matches, token_matches

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
    "signature_matches",
    "token_matches",
]
