"""Registered sender numbers and 080 opt-out numbers, cached from NHN.

Korean law forbids unregistered sender numbers; NHN registers them in its
console only (v3.0 has no registration API) and lists them with ``GET sendNos``.
The connector keeps that list (``useYn = Y``, ``blockYn = N``) and fails a
message from any other number as ``unregistered_sender`` without a request.
Advertising must end with an 080 number of the project's own 080 opt-out
service in status ``USED`` (``GET blockservice/unsubscribe-nos``). Both lists
are refreshed every ``numbers_refresh_seconds`` and at once when NHN refuses a
number (-2312/-2313, -6004); until the first load succeeds the connector is
not ready and holds its messages back (RETRY), since it cannot tell.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from gateway.httpclient import ProviderError
from gateway.nhn_sms import metrics
from gateway.nhn_sms.adapter import NhnSmsAdapter

__all__ = ["NumberBook"]

log = structlog.get_logger("gateway.nhn_sms")


class NumberBook:
    def __init__(self, *, connector: str, adapter: NhnSmsAdapter, clock: Callable[[], float] = time.monotonic) -> None:
        self.connector = connector
        self.adapter = adapter
        self._clock = clock
        self.senders: dict[str, bool] | None = None  # None: never loaded
        self.optouts: dict[str, bool] | None = None
        self.loaded_at = 0.0
        self.stale = False  # NHN refused a number we thought fine: reload soon

    @property
    def loaded(self) -> bool:
        return self.senders is not None

    async def refresh(self) -> bool:
        """Reload both lists; False (and the old lists kept) when NHN cannot be asked."""
        try:
            senders = await self.adapter.sender_numbers()
            try:
                optouts = await self.adapter.optout_numbers()
            except ProviderError as exc:  # a project without the 080 service may not list any
                log.info("nhn_sms.numbers.optout_unavailable", connector=self.connector, error=str(exc))
                optouts = self.optouts if self.optouts is not None else {}
        except ProviderError as exc:
            metrics.REQUESTS.labels(self.connector, "numbers", "error").inc()
            log.warning("nhn_sms.numbers.refresh_failed", connector=self.connector, error=str(exc))
            return False
        metrics.REQUESTS.labels(self.connector, "numbers", "ok").inc()
        self.senders, self.optouts = senders, optouts
        self.loaded_at = self._clock()
        self.stale = False
        log.info(
            "nhn_sms.numbers.loaded",
            connector=self.connector,
            senders=sum(senders.values()),
            optout_numbers=sum(optouts.values()),
        )
        return True

    def sender_usable(self, send_no: str) -> bool:
        return bool(self.senders and self.senders.get(send_no))

    def optout_usable(self, number: str) -> bool:
        return bool(self.optouts and self.optouts.get(number))
