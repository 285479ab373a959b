"""Errors of the Kakao Alimtalk connector that are its own.

    InputError                          (gateway.errors)
    └── TemplateFileError               a template file is invalid; names file, entry and field

A call to the provider fails with the HTTP connectors' shared hierarchy,
:mod:`gateway.httpclient.errors` (``ProviderError``, ``ProviderUnavailable``
with ``maybe_sent``, ``ProviderThrottled``, ``ProviderRejected``,
``ProviderProtocolError``), raised by :mod:`gateway.httpclient.transport` and
by the NHN codec (:mod:`gateway.kakao.nhn`); ``gateway.kakao`` re-exports those
names.
"""

from __future__ import annotations

from gateway.errors import InputError

__all__ = ["TemplateFileError"]


class TemplateFileError(InputError):
    """A template file is unreadable or invalid. ``problems`` lists every finding."""

    def __init__(self, path: str, problems: list[str]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s) in the template file:\n{lines}")
        self.path = path
        self.problems = problems
