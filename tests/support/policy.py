"""Builders shared by the policy tests: messages, clocks and configs."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.policy import OptOutSet, PolicyConfig
from gateway.port import OutboundMessage

SEOUL = ZoneInfo("Asia/Seoul")
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
ANCHORAGE = ZoneInfo("America/Anchorage")
ADAK = ZoneInfo("America/Adak")

KR_MOBILE = "+821012345678"
US_NEW_YORK = "+12125551234"
US_ALASKA = "+19075550100"  # phonenumbers: America/Adak and America/Anchorage
FR_MOBILE = "+33612345678"

KR_AD_BODY = "(광고) 봄 세일 20% 할인\n무료수신거부 080-123-4567"
NO_OPT_OUTS = OptOutSet()
DEFAULT_CONFIG = PolicyConfig()


def at(zone: ZoneInfo, *args: int) -> datetime:
    """An aware local time: at(SEOUL, 2024, 5, 1, 21, 0)."""
    return datetime(*args, tzinfo=zone)


def message(**overrides: Any) -> OutboundMessage:
    """A valid Korean advertising SMS unless overridden."""
    fields: dict[str, Any] = {
        "id": 1,
        "channel": "sms",
        "sender": "0212345678",
        "recipient": KR_MOBILE,
        "body": KR_AD_BODY,
        "kind": "advertising",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)


def config(**sections: Any) -> PolicyConfig:
    """A PolicyConfig from plain dicts, as the TOML loader would build it."""
    return PolicyConfig.model_validate(sections)
