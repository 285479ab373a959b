"""Typed configuration of one Kakao Alimtalk connector (one provider account).

In the TOML file (every key but ``name``, ``app_key`` and ``secret_key`` has the
default shown)::

    [[connectors]]
    type = "kakao"
    name = "kakao-nhn"
    channel = "alimtalk"
    provider = "nhn"
    base_url = "https://kakaotalk-bizmessage.api.nhncloudservice.com"
    app_key = "..."
    secret_key = "..."
    # batching and HTTP
    max_batch = 1000
    batch_linger_seconds = 0.05
    queue_size = 10000
    max_concurrent_requests = 8
    max_connections = 16
    keepalive_seconds = 30.0
    connect_timeout_seconds = 5.0
    request_timeout_seconds = 30.0
    # retries and circuit breaker
    retry_attempts = 3
    retry_backoff_initial_seconds = 0.2
    retry_backoff_max_seconds = 5.0
    retry_after_max_seconds = 30.0
    breaker_failure_threshold = 5
    breaker_open_seconds = 30.0
    account_error_retry_after_seconds = 300.0
    daily_limit_retry_after_seconds = 3600.0
    # content rules
    max_body_chars = 1300                 # NHN: 1,300 (700 with an item list)
    template_refresh_seconds = 60.0
    template_variables_multiline = false
    sender_keys = []                      # sender profiles `gateway templates sync --from-nhn` reads
    # fallback
    fallback_mode = "gateway"             # or "provider": NHN's own resendParameter
    fallback_on_template_error = false
    # results
    results = "webhook"                   # or "poll"
    webhook_auth = "token"                # NHN's static X-Toast-Webhook-Signature; "hmac" for a signing relay
    webhook_secret = "..."                # required when results = "webhook"
    webhook_signature_header = ""         # "" = X-Toast-Webhook-Signature (token) / X-Webhook-Signature (hmac)
    webhook_max_body_bytes = 1048576
    poll_interval_seconds = 5.0           # results = "poll": how often NHN's result-update query is read
    gap_fill_interval_seconds = 60.0      # results = "webhook": the same query behind the webhook (0 = off)
    poll_give_up_seconds = 262800.0       # 3 days + 1 hour: Kakao may deliver for 3 days (code 3005)
    resend_wait_seconds = 600.0           # provider fallback mode: how long NHN's SMS resend is followed
    resend_check_seconds = 15.0
    journal_retention_days = 7
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from gateway.configbase import ConfigModel, require_secret

DEFAULT_BASE_URL = "https://kakaotalk-bizmessage.api.nhncloudservice.com"

__all__ = ["KakaoConnectorConfig"]


class KakaoConnectorConfig(ConfigModel):
    type: Literal["kakao"] = "kakao"
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    channel: Literal["alimtalk"] = "alimtalk"
    provider: Literal["nhn"] = "nhn"
    base_url: str = Field(DEFAULT_BASE_URL, pattern=r"^https?://")
    app_key: str = Field(min_length=1)
    secret_key: SecretStr

    # batching and HTTP
    max_batch: int = Field(1000, ge=1, le=1000)  # NHN: at most 1,000 recipients per request
    batch_linger_seconds: float = Field(0.05, ge=0, le=5)
    queue_size: int = Field(10_000, ge=1, le=1_000_000)
    max_concurrent_requests: int = Field(8, ge=1, le=256)
    max_connections: int = Field(16, ge=1, le=1024)
    keepalive_seconds: float = Field(30.0, gt=0)
    connect_timeout_seconds: float = Field(5.0, gt=0)
    request_timeout_seconds: float = Field(30.0, gt=0)

    # retries and circuit breaker
    retry_attempts: int = Field(3, ge=1, le=10)
    retry_backoff_initial_seconds: float = Field(0.2, ge=0)
    retry_backoff_max_seconds: float = Field(5.0, ge=0)
    retry_after_max_seconds: float = Field(30.0, ge=0)
    breaker_failure_threshold: int = Field(5, ge=1)
    breaker_open_seconds: float = Field(30.0, gt=0)
    account_error_retry_after_seconds: float = Field(300.0, gt=0)
    daily_limit_retry_after_seconds: float = Field(3600.0, gt=0)

    # content rules
    max_body_chars: int = Field(1300, ge=1, le=1300)  # NHN: 1,300 (700 with an item list, always applied)
    template_refresh_seconds: float = Field(60.0, gt=0)
    template_variables_multiline: bool = False
    sender_keys: tuple[str, ...] = ()

    # fallback
    fallback_mode: Literal["gateway", "provider"] = "gateway"
    fallback_on_template_error: bool = False

    # results
    results: Literal["webhook", "poll"] = "webhook"
    webhook_auth: Literal["hmac", "token"] = "token"
    webhook_secret: SecretStr | None = None
    webhook_signature_header: str = ""
    webhook_max_body_bytes: int = Field(1_048_576, ge=1024)
    poll_interval_seconds: float = Field(5.0, gt=0)
    gap_fill_interval_seconds: float = Field(60.0, ge=0)
    poll_give_up_seconds: float = Field(3 * 86_400.0 + 3600.0, gt=0)
    resend_wait_seconds: float = Field(600.0, ge=0)
    resend_check_seconds: float = Field(15.0, gt=0)
    journal_retention_days: int = Field(7, ge=1, le=90)

    @field_validator("secret_key", "webhook_secret")
    @classmethod
    def _secrets_not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        return require_secret(value)

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> KakaoConnectorConfig:
        if self.results == "webhook" and (self.webhook_secret is None or not self.webhook_secret.get_secret_value()):
            raise ValueError("webhook_secret is required when results = 'webhook' (or set results = 'poll')")
        return self

    @property
    def signature_header(self) -> str:
        """The header carrying the webhook signature or token."""
        if self.webhook_signature_header:
            return self.webhook_signature_header
        return "X-Webhook-Signature" if self.webhook_auth == "hmac" else "X-Toast-Webhook-Signature"

    @property
    def results_interval(self) -> float:
        """Seconds between two reads of NHN's result-update query (0: never)."""
        return self.poll_interval_seconds if self.results == "poll" else self.gap_fill_interval_seconds
