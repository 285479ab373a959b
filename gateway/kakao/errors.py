"""Errors of the Kakao Alimtalk connector, drawn once here.

    ConnectorError                      (gateway.errors)
    └── ProviderError                   a call to the provider did not give a usable answer
        ├── ProviderUnavailable         no answer, or 5xx: transient, retried with backoff
        │   └── ProviderThrottled       429: slow down (``retry_after`` when the peer said so)
        ├── ProviderRejected            a definite refusal of the whole request (4xx, header code);
        │                               never retried, ``code``/``message`` are the provider's
        └── ProviderProtocolError       an answer we cannot read (not JSON, fields missing);
                                        the request may have been processed
    InputError                          (gateway.errors)
    └── TemplateFileError               a template file is invalid; names file, entry and field

``ProviderUnavailable.maybe_sent`` says whether the request may have reached the
provider (a read timeout, a reset mid-response) or certainly did not (connection
refused, a 5xx answer). aiohttp and OS exceptions are translated into these in
``gateway.kakao.transport`` with ``raise ... from exc``; nothing above the
transport sees an aiohttp exception.
"""

from __future__ import annotations

from gateway.errors import ConnectorError, InputError

__all__ = [
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRejected",
    "ProviderThrottled",
    "ProviderUnavailable",
    "TemplateFileError",
]


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


class TemplateFileError(InputError):
    """A template file is unreadable or invalid. ``problems`` lists every finding."""

    def __init__(self, path: str, problems: list[str]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s) in the template file:\n{lines}")
        self.path = path
        self.problems = problems
