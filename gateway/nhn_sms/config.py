"""Typed configuration of one NHN Cloud SMS connector (API v3.0; one app key).

In the TOML file (every key but ``name``, ``app_key`` and ``secret_key`` has the
default shown)::

    [[connectors]]
    type = "nhn_sms"
    name = "nhn-sms"
    channel = "sms"
    base_url = "https://sms.api.nhncloudservice.com"
    app_key = "..."
    secret_key = "..."
    key_prefix = "gw"                      # recipientGroupingKey = "{key_prefix}-{message id}"
    # batching and HTTP
    max_batch = 1000
    batch_linger_seconds = 0.05
    queue_size = 10000
    max_concurrent_requests = 8
    max_connections = 16
    keepalive_seconds = 30.0
    connect_timeout_seconds = 5.0
    request_timeout_seconds = 30.0
    # never twice: reconcile an unanswered send before anything is resent
    reconcile_grace_seconds = 30.0
    reconcile_tries = 2
    # outages
    breaker_failure_threshold = 5
    breaker_open_seconds = 30.0
    account_error_retry_after_seconds = 300.0
    quota_retry_after_seconds = 3600.0
    # content
    lms_default_title = ""                 # "" = the body's first line
    title_max_bytes = 40
    # registered sender numbers and 080 opt-out numbers (cached from NHN)
    numbers_refresh_seconds = 300.0
    # pictures: reuse an uploaded fileId this long (NHN keeps files 7 days)
    upload_reuse_seconds = 518400.0
    upload_create_user = "gateway"
    attachment_retention_days = 30
    # results
    results = "webhook+sweep"              # or "sweep"
    webhook_secret = "..."                 # the signature typed in NHN's console; required with webhook+sweep
    webhook_max_body_bytes = 1048576
    sweep_interval_seconds = 30.0
    sweep_overlap_seconds = 120.0
    sweep_lookback_seconds = 7200.0
    receipt_timeout_seconds = 291600.0     # 81 h: NHN reports LMS/MMS for 80 h
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from gateway.configbase import ConfigModel

__all__ = ["NhnSmsConnectorConfig"]


class NhnSmsConnectorConfig(ConfigModel):
    type: Literal["nhn_sms"] = "nhn_sms"
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    channel: Literal["sms"] = "sms"
    base_url: str = Field("https://sms.api.nhncloudservice.com", pattern=r"^https?://")
    app_key: str = Field(min_length=1)
    secret_key: SecretStr
    # Unique per deployment sharing one app key: recipientGroupingKey = f"{key_prefix}-{message id}" (<= 100).
    key_prefix: str = Field("gw", min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.]+$")

    # batching and HTTP
    max_batch: int = Field(1000, ge=1, le=1000)  # NHN: at most 1,000 recipients per request
    batch_linger_seconds: float = Field(0.05, ge=0, le=5)
    queue_size: int = Field(10_000, ge=1, le=1_000_000)
    max_concurrent_requests: int = Field(8, ge=1, le=256)
    max_connections: int = Field(16, ge=1, le=1024)
    keepalive_seconds: float = Field(30.0, gt=0)
    connect_timeout_seconds: float = Field(5.0, gt=0)
    request_timeout_seconds: float = Field(30.0, gt=0)

    # an unanswered send (timeout, reset, 5xx, -9999) is looked up before anything is resent
    reconcile_grace_seconds: float = Field(30.0, ge=0)
    reconcile_tries: int = Field(2, ge=1, le=10)

    # outages
    breaker_failure_threshold: int = Field(5, ge=1)
    breaker_open_seconds: float = Field(30.0, gt=0)
    account_error_retry_after_seconds: float = Field(300.0, gt=0)
    quota_retry_after_seconds: float = Field(3600.0, gt=0)

    # content
    lms_default_title: str = Field("", max_length=120)
    title_max_bytes: int = Field(40, ge=1, le=120)

    # registered sender numbers (GET sendNos) and 080 opt-out numbers (GET blockservice/unsubscribe-nos)
    numbers_refresh_seconds: float = Field(300.0, gt=0)

    # pictures
    upload_reuse_seconds: float = Field(6 * 86400.0, gt=0, le=7 * 86400.0)
    upload_create_user: str = Field("gateway", min_length=1, max_length=100)
    attachment_retention_days: int = Field(30, ge=1, le=3650)

    # results
    results: Literal["webhook+sweep", "sweep"] = "webhook+sweep"
    webhook_secret: SecretStr | None = None
    webhook_max_body_bytes: int = Field(1_048_576, ge=1024)
    sweep_interval_seconds: float = Field(30.0, gt=0)
    sweep_overlap_seconds: float = Field(120.0, ge=0)
    sweep_lookback_seconds: float = Field(7200.0, ge=0, le=30 * 86400.0)
    # NHN reports "2000 전송 시간 초과" after 25 h (SMS) / 80 h (LMS/MMS): wait longer than that.
    receipt_timeout_seconds: float = Field(81 * 3600.0, ge=0)

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> NhnSmsConnectorConfig:
        if self.results == "webhook+sweep" and (
            self.webhook_secret is None or not self.webhook_secret.get_secret_value()
        ):
            raise ValueError(
                "webhook_secret (the signature set in NHN's console) is required when results = 'webhook+sweep'"
                " (or set results = 'sweep')"
            )
        return self
