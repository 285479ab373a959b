"""NHN's dates: every documented form is read, in Korea Standard Time; query windows are written as NHN wants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.kakao.dates import KST, format_minute, parse_nhn_date
from tests.support.kakao import fixture


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-10-28 15:23:56.0", datetime(2021, 10, 28, 15, 23, 56, tzinfo=KST)),  # the 2021 query example
        ("2022-05-01 00:00:00", datetime(2022, 5, 1, tzinfo=KST)),  # the template hook example
        ("2023-06-01", datetime(2023, 6, 1, tzinfo=KST)),  # the result hook's receiveDate example
        ("2018-05-01 10:00", datetime(2018, 5, 1, 10, 0, tzinfo=KST)),  # the request-side form
        ("2024-01-01T09:00:01.123456", datetime(2024, 1, 1, 9, 0, 1, 123456, tzinfo=KST)),
        ("2024-01-01 00:00:01Z", datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)),
        ("2024-01-01 09:00:01+09:00", datetime(2024, 1, 1, 9, 0, 1, tzinfo=timezone(timedelta(hours=9)))),
    ],
)
def test_documented_forms_are_read(text: str, expected: datetime) -> None:
    """Fraction, seconds, minutes or a bare date; no offset means Korea Standard Time."""
    assert parse_nhn_date(text) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "String", "2023-13-01", "01/06/2023", 20230601])
def test_missing_or_unreadable_dates_are_none(value: object) -> None:
    """A missing, empty or unreadable date never refuses the result: it is None."""
    assert parse_nhn_date(value) is None


def test_the_documented_hook_and_query_dates_parse() -> None:
    """The dates in the transcribed documents themselves (hook, template hook, historical answer) all parse."""
    hook = fixture("webhook-message-result-update.hooks.json")["hook"]["hooks"][0]
    template = fixture("webhook-template-status.hooks.json")["hook"]["hooks"][0]
    old = fixture("historical/v2.2-mass-messages-recipient.example.json")["response"]["body"]
    for value in (hook["receiveDate"], template["updateDate"], old["requestDate"], old["receiveDate"]):
        assert parse_nhn_date(value) is not None


def test_query_windows_are_minutes_in_korea() -> None:
    """Request dates are yyyy-MM-dd HH:mm in KST whatever the zone of the moment given."""
    assert format_minute(datetime(2024, 1, 1, 0, 30, 59, tzinfo=UTC)) == "2024-01-01 09:30"
    with pytest.raises(ValueError):
        format_minute(datetime(2024, 1, 1))
