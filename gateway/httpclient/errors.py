"""Errors of a call to an HTTP provider, drawn once here.

    ConnectorError                      (gateway.errors)
    └── ProviderError                   a call to the provider did not give a usable answer
        ├── ProviderUnavailable         no answer, or 5xx: transient
        │   └── ProviderThrottled       429: slow down (``retry_after`` when the peer said so)
        ├── ProviderRejected            a definite refusal of the whole request (a 4xx, a header code);
        │                               ``code``/``provider_message`` are the provider's
        └── ProviderProtocolError       an answer that cannot be read (not JSON, fields missing);
                                        the request may have been processed

``ProviderUnavailable.maybe_sent`` says whether the request may have reached the
provider (a read timeout, a reset mid-response) or certainly did not (connection
refused, connect timeout). :mod:`gateway.httpclient.transport` translates every
aiohttp / OS exception into these with ``raise ... from exc``; nothing above it
sees an aiohttp exception. The HTTP connectors (NHN SMS, Kakao Alimtalk) raise
and catch these; their own errors (e.g. ``gateway.kakao.errors.TemplateFileError``)
stay in their rooms.
"""

from __future__ import annotations

from gateway.errors import ConnectorError

__all__ = ["ProviderError", "ProviderProtocolError", "ProviderRejected", "ProviderThrottled", "ProviderUnavailable"]


class ProviderError(ConnectorError):
    """A provider call failed; subclasses say how."""


class ProviderUnavailable(ProviderError):
    """No usable answer (connection error, timeout, 5xx). Retrying may help."""

    def __init__(self, message: str, *, maybe_sent: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent
        self.status = status


class ProviderThrottled(ProviderUnavailable):
    """HTTP 429: the provider asks us to slow down."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message, maybe_sent=False, status=429)
        self.retry_after = retry_after


class ProviderRejected(ProviderError):
    """The provider definitely refused the whole request. Never retried as is."""

    def __init__(self, message: str, *, code: str, provider_message: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.provider_message = provider_message
        self.status = status


class ProviderProtocolError(ProviderError):
    """The provider answered something we cannot interpret."""
