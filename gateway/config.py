"""The daemon's configuration: typed, validated at start, read from TOML.

Only the program's entry point calls :func:`load_config`; everything below it
receives the typed objects. Secrets may come from the environment: any string
value written as ``"${NAME}"`` is replaced by the variable ``NAME`` (an unset
variable is an error naming the key). Errors name the file, the key and what
is wrong, e.g. ``config/gateway.toml: connectors[0].window: Input should be
less than or equal to 1024``.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from gateway.configbase import ConfigModel
from gateway.connectors.config import LoopbackConnectorConfig
from gateway.errors import ConfigError
from gateway.kakao.config import KakaoConnectorConfig
from gateway.nhn_sms.config import NhnSmsConnectorConfig
from gateway.policy.config import PolicyConfig
from gateway.queue.config import EngineConfig, RetryConfig, RouteRule, RoutingConfig
from gateway.ratelimit.config import RateLimitConfig
from gateway.smpp.config import SmppConnectorConfig

__all__ = [
    "Config",
    "DatabaseConfig",
    "EngineConfig",
    "HttpConfig",
    "LoggingConfig",
    "LoopbackConnectorConfig",
    "RetryConfig",
    "RouteRule",
    "RoutingConfig",
    "load_config",
    "parse_config",
]


class DatabaseConfig(ConfigModel):
    # None: the daemon refuses to start; `gateway demo` starts an embedded server instead.
    url: str | None = None
    pool_min: int = Field(2, ge=1, le=100)
    pool_max: int = Field(10, ge=2, le=200)
    # Connect timeout and the back-off between reconnect attempts when PostgreSQL is away.
    connect_timeout_seconds: float = Field(5.0, gt=0)
    reconnect_max_seconds: float = Field(10.0, gt=0)
    # Daily partitions of the message log and events; older ones are dropped.
    retention_days: int = Field(30, ge=1, le=3650)


class HttpConfig(ConfigModel):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # Requests with a larger body get 413 before being read.
    max_body_bytes: int = Field(1_048_576, ge=1024)


class LoggingConfig(ConfigModel):
    level: Literal["debug", "info", "warning", "error"] = "info"
    # "auto": console rendering on a terminal, JSON otherwise.
    format: Literal["auto", "json", "console"] = "auto"


ConnectorConfig = Annotated[
    LoopbackConnectorConfig | SmppConnectorConfig | KakaoConnectorConfig | NhnSmsConnectorConfig,
    Field(discriminator="type"),
]


class Config(ConfigModel):
    instance_name: str | None = None
    database: DatabaseConfig = DatabaseConfig()
    engine: EngineConfig = EngineConfig()
    http: HttpConfig = HttpConfig()
    logging: LoggingConfig = LoggingConfig()
    connectors: tuple[ConnectorConfig, ...] = ()
    routing: RoutingConfig = RoutingConfig()
    policy: PolicyConfig = PolicyConfig()
    ratelimit: RateLimitConfig = RateLimitConfig()

    @model_validator(mode="after")
    def _check_references(self) -> Config:
        names = [c.name for c in self.connectors]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"connector names must be unique; repeated: {', '.join(dupes)}")
        known = set(names)
        for i, rule in enumerate(self.routing.rules):
            if rule.connector not in known:
                raise ValueError(f"routing.rules[{i}].connector: no connector named {rule.connector!r}")
        for channel, name in self.routing.default.items():
            if name not in known:
                raise ValueError(f"routing.default.{channel}: no connector named {name!r}")
        for name in self.ratelimit.connectors:
            if name not in known:
                raise ValueError(f"ratelimit.connectors.{name}: no connector named {name!r}")
        return self

    def connector(self, name: str) -> Any:
        for c in self.connectors:
            if c.name == name:
                return c
        raise KeyError(name)


_ENV = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _substitute_env(value: Any, path: str, env: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute_env(v, f"{path}.{k}" if path else k, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(v, f"{path}[{i}]", env) for i, v in enumerate(value)]
    if isinstance(value, str):
        match = _ENV.match(value)
        if match:
            name = match.group(1)
            if name not in env:
                raise ConfigError(f"{path}: environment variable {name} is not set")
            return env[name]
    return value


def _format_validation_error(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            if isinstance(part, int):
                loc += f"[{part}]"
            elif part in ("loopback", "smpp", "kakao", "nhn_sms") and loc.endswith("]"):
                continue  # the discriminator tag pydantic adds to the path
            else:
                loc += f".{part}" if loc else str(part)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        lines.append(f"{source}: {loc or '(top level)'}: {msg}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any], *, source: str = "<config>", env: dict[str, str] | None = None) -> Config:
    env = dict(os.environ) if env is None else env
    try:
        data = _substitute_env(data, "", env)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(source, exc)) from None


def load_config(path: str | Path, *, env: dict[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_config(data, source=str(path), env=env)
