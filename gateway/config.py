"""The daemon's configuration: typed, validated at start, read from TOML.

Only the program's entry point calls :func:`load_config`; everything below it
receives the typed objects. Errors name the file, the key and what is wrong,
e.g. ``config/gateway.toml: connectors[0].window: Input should be less than
or equal to 1024``.

Where a setting comes from, strongest first:

1. a command-line flag (``--database-url``);
2. an environment variable of :data:`ENV_OVERRIDES` (``GATEWAY_DATABASE_URL``,
   ``GATEWAY_ADMIN_TOKEN``, ...);
3. the file (``--config``, else ``$GATEWAY_CONFIG``, else ``config/gateway.toml``);
4. the model's default.

Inside any string of the file, ``${NAME}`` is replaced by the environment
variable ``NAME`` (``$${`` writes a literal ``${``); every unset variable is
reported at once, each with its key.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator

from gateway.configbase import ConfigModel, require_secret
from gateway.connectors.config import LoopbackConnectorConfig
from gateway.control.config import ControlConfig
from gateway.errors import ConfigError
from gateway.kakao.config import KakaoConnectorConfig
from gateway.nhn_sms.config import NhnSmsConnectorConfig
from gateway.policy.config import PolicyConfig
from gateway.queue.config import EngineConfig, RetryConfig, RouteRule, RoutingConfig
from gateway.ratelimit.config import RateLimitConfig
from gateway.smpp.config import SmppConnectorConfig

__all__ = [
    "ENV_OVERRIDES",
    "AdminConfig",
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
    """The public listener: the connectors' delivery-report webhooks (``/reports/<connector>/``) only."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # Requests with a larger body get 413 before being read.
    max_body_bytes: int = Field(1_048_576, ge=1024)


class AdminConfig(ConfigModel):
    """The operators' listener: /metrics, /healthz, /readyz, /status and the admin API.

    It starts before the database is reached, so liveness is served while the
    daemon waits for PostgreSQL. The admin API (``/admin/...``: pause, resume,
    rebind) needs ``Authorization: Bearer <token>``; without a token it is off."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)  # unset: http.port + 1 (see Config)
    token: SecretStr | None = None

    @field_validator("token")
    @classmethod
    def _token_not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        return require_secret(value)


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
    admin: AdminConfig = AdminConfig()
    control: ControlConfig = ControlConfig()
    logging: LoggingConfig = LoggingConfig()
    connectors: tuple[ConnectorConfig, ...] = ()
    routing: RoutingConfig = RoutingConfig()
    policy: PolicyConfig = PolicyConfig()
    ratelimit: RateLimitConfig = RateLimitConfig()

    @model_validator(mode="before")
    @classmethod
    def _admin_port_beside_http(cls, data: Any) -> Any:
        """Without ``admin.port``, the operators' listener sits next to the public one (``http.port`` + 1;
        8081 by default): two daemons with different public ports on one host never collide on it."""
        if not isinstance(data, dict):
            return data
        admin = data.get("admin")
        if admin is not None and not isinstance(admin, dict):
            return data
        if admin is None or "port" not in admin:
            http = data.get("http")
            port = http.get("port", 8080) if isinstance(http, dict) else 8080
            if isinstance(port, int) and 0 <= port < 65535:
                data = {**data, "admin": {**(admin or {}), "port": port + 1 if port else 0}}
        return data

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
        if (
            self.http.enabled
            and self.admin.enabled
            and self.http.port == self.admin.port != 0
            and self.http.host == self.admin.host
        ):
            raise ValueError(
                f"http.port and admin.port are both {self.http.port}: the public webhooks and the "
                "operators' endpoints need listeners of their own"
            )
        return self

    def connector(self, name: str) -> Any:
        for c in self.connectors:
            if c.name == name:
                return c
        raise KeyError(name)


_VAR = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: Environment variables that override a key of the file (a flag overrides them in turn).
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "GATEWAY_DATABASE_URL": ("database", "url"),
    "GATEWAY_INSTANCE_NAME": ("instance_name",),
    "GATEWAY_HTTP_HOST": ("http", "host"),
    "GATEWAY_HTTP_PORT": ("http", "port"),
    "GATEWAY_ADMIN_HOST": ("admin", "host"),
    "GATEWAY_ADMIN_PORT": ("admin", "port"),
    "GATEWAY_ADMIN_TOKEN": ("admin", "token"),
    "GATEWAY_LOG_LEVEL": ("logging", "level"),
    "GATEWAY_LOG_FORMAT": ("logging", "format"),
}


def _substitute_env(value: Any, path: str, env: dict[str, str], missing: list[str]) -> Any:
    """``${NAME}`` anywhere in a string; unset names are collected in ``missing`` ("key: NAME")."""
    if isinstance(value, dict):
        return {k: _substitute_env(v, f"{path}.{k}" if path else k, env, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(v, f"{path}[{i}]", env, missing) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def replace(match: re.Match[str]) -> str:
            if match.group(1):  # "$${NAME}": a literal "${NAME}"
                return match.group(0)[1:]
            name = match.group(2)
            if name not in env:
                missing.append(f"{path}: environment variable {name} is not set")
                return ""
            return env[name]

        return _VAR.sub(replace, value)
    return value


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[path[-1]] = value


def _apply_environment(data: dict[str, Any], env: dict[str, str]) -> None:
    empty = []
    for name, path in ENV_OVERRIDES.items():
        if name not in env:
            continue
        if not env[name]:
            empty.append(f"{name} is set but empty (unset it, or give {'.'.join(path)} a value)")
            continue
        _set(data, path, env[name])
    if empty:
        raise ConfigError("\n".join(f"environment: {e}" for e in empty))


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


def parse_config(
    data: dict[str, Any],
    *,
    source: str = "<config>",
    env: dict[str, str] | None = None,
    overrides: dict[tuple[str, ...], Any] | None = None,
) -> Config:
    """Validate ``data`` (the file's tables) after ``${NAME}`` substitution, the
    :data:`ENV_OVERRIDES` variables and ``overrides`` (flags, strongest)."""
    env = dict(os.environ) if env is None else env
    missing: list[str] = []
    data = _substitute_env(data, "", env, missing)
    if missing:
        raise ConfigError("\n".join(f"{source}: {m}" for m in missing))
    _apply_environment(data, env)
    for path, value in (overrides or {}).items():
        if value is not None:
            _set(data, path, value)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(source, exc)) from None


def load_config(
    path: str | Path, *, env: dict[str, str] | None = None, overrides: dict[tuple[str, ...], Any] | None = None
) -> Config:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_config(data, source=str(path), env=env, overrides=overrides)
