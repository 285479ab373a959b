"""The NHN SMS API on a transport: one call per method, pages followed, errors translated.

Every method raises :mod:`gateway.httpclient.errors`; none retries (the
connector decides what a failure means for its messages).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.httpclient import AiohttpTransport, Transport
from gateway.nhn_sms.api import NhnRecord, NhnSmsApi, SendAnswer, SendRequest

__all__ = ["NhnSmsAdapter"]

_MAX_PAGES = 1000


class NhnSmsAdapter:
    """One app key on one transport (by default a pooled aiohttp session, opened by ``async with``)."""

    def __init__(self, api: NhnSmsApi, transport: Transport, *, owns_transport: bool = False) -> None:
        self.api = api
        self.transport = transport
        self._owns_transport = owns_transport

    @classmethod
    def from_config(cls, config: Any) -> NhnSmsAdapter:
        api = NhnSmsApi(config.app_key, config.secret_key.get_secret_value())
        return cls(api, AiohttpTransport.from_config(config), owns_transport=True)

    async def __aenter__(self) -> NhnSmsAdapter:
        if self._owns_transport:
            await self.transport.__aenter__()  # type: ignore[attr-defined]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._owns_transport:
            await self.transport.__aexit__(*exc_info)  # type: ignore[attr-defined]

    async def send(self, request: SendRequest) -> SendAnswer:
        return self.api.parse_send(request, await self.transport.request(self.api.send_request(request)))

    async def upload(self, file_name: str, data: bytes, create_user: str) -> int:
        return self.api.parse_upload(
            await self.transport.request(self.api.upload_request(file_name, data, create_user))
        )

    async def lookup(
        self,
        family: str,
        *,
        start: datetime,
        end: datetime,
        sender_grouping_key: str | None = None,
        recipient_grouping_key: str | None = None,
    ) -> list[NhnRecord]:
        """Every message of ``family`` (sms | mms) created in [start, end] under the given grouping key."""
        found: list[NhnRecord] = []
        for page in range(1, _MAX_PAGES + 1):
            request = self.api.list_request(
                family,
                start=start,
                end=end,
                sender_grouping_key=sender_grouping_key,
                recipient_grouping_key=recipient_grouping_key,
                page=page,
            )
            records, total = self.api.parse_records(await self.transport.request(request), f"nhn list {family}")
            found.extend(records)
            if not records or len(found) >= total:
                break
        return found

    async def results(self, start: datetime, end: datetime, *, page_size: int = 1000) -> list[NhnRecord]:
        """Every result updated in [start, end] (at most one day, as NHN requires)."""
        found: list[NhnRecord] = []
        for page in range(1, _MAX_PAGES + 1):
            request = self.api.results_request(start, end, page=page, page_size=page_size)
            records, total = self.api.parse_records(await self.transport.request(request), "nhn message-results")
            found.extend(records)
            if not records or len(found) >= total:
                break
        return found

    async def sender_numbers(self) -> dict[str, bool]:
        found: dict[str, bool] = {}
        for page in range(1, _MAX_PAGES + 1):
            numbers, total = self.api.parse_sendnos(await self.transport.request(self.api.sendnos_request(page=page)))
            found.update(numbers)
            if not numbers or len(found) >= total:
                break
        return found

    async def optout_numbers(self) -> dict[str, bool]:
        found: dict[str, bool] = {}
        for page in range(1, _MAX_PAGES + 1):
            request = self.api.unsubscribe_nos_request(page=page)
            numbers, total = self.api.parse_unsubscribe_nos(await self.transport.request(request))
            found.update(numbers)
            if not numbers or len(found) >= total:
                break
        return found
