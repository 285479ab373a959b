"""NHN's dates: what we read and what we send.

NHN documents the request dates as ``yyyy-MM-dd HH:mm`` (the schedule and every
query window) and the answer dates only as ``String``. The instances its
documents show are ``2021-10-28 15:23:56.0`` (``yyyy-MM-dd HH:mm:ss.S``, the
only concrete query answer NHN published), ``2022-05-01 00:00:00`` (the template
hook) and a bare date, ``2023-06-01``, for the result hook's ``receiveDate``.
:func:`parse_nhn_date` reads all of them (with ``T`` instead of the space, with
1-6 fraction digits, and with an offset or ``Z`` should one ever come), and a
missing, empty or unreadable value is None (a result is never refused for its
date). A bare date reads as midnight of that day.

**Time zone.** None is documented, and no example carries an offset. We read
and write Korea Standard Time (UTC+9, no daylight saving since 1988): NHN Cloud
runs this service in Korea for Korean senders, its console shows Korean local
time, and the 2021 example's ``requestId`` (``20210928152356...``, a local
timestamp) and dates are Korean office hours. Where a wrong guess would matter
(finding an accepted request again, :mod:`gateway.kakao.nhn` list queries), the
query windows are padded by a day on each side, so a zone error of up to 14
hours cannot hide an accepted copy.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = ["KST", "format_minute", "parse_nhn_date"]

KST = timezone(timedelta(hours=9), "KST")

_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_nhn_date(value: Any) -> datetime | None:
    """An aware datetime from any documented NHN date form; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    match = _DATE.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = KST
    if zone == "Z":
        tz = UTC
    elif zone:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        return None


def format_minute(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm`` in Korea Standard Time, as NHN's query windows want it."""
    if moment.tzinfo is None:
        raise ValueError("format_minute needs an aware datetime")
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M")
