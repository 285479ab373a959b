"""Typed configuration of one Kakao Alimtalk connector (one provider account)."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from gateway.configbase import ConfigModel


class KakaoConnectorConfig(ConfigModel):
    type: Literal["kakao"] = "kakao"
    name: str
    channel: Literal["alimtalk"] = "alimtalk"
    base_url: str
    app_key: str
    secret_key: SecretStr
