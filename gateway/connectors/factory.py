"""Build connector objects from their typed configuration."""

from __future__ import annotations

from typing import Any

from gateway.config import Config, LoopbackConnectorConfig
from gateway.port import Connector
from gateway.connectors.loopback import LoopbackConnector
from gateway.errors import ConfigError


def build_connector(config: Any, **deps: Any) -> Connector:
    if isinstance(config, LoopbackConnectorConfig):
        return LoopbackConnector(config)
    if config.type == "smpp":
        from gateway.smpp.connector import SmppConnector

        return SmppConnector(config, **deps.get("smpp", {}))
    if config.type == "kakao":
        from gateway.kakao import InMemoryTemplateStore, KakaoConnector, PostgresTemplateStore

        pool = deps.get("pool")
        store = PostgresTemplateStore(pool) if pool is not None else InMemoryTemplateStore(())
        return KakaoConnector(config, store, **deps.get("kakao", {}))
    raise ConfigError(f"connector {config.name!r}: unknown type {config.type!r}")


def build_connectors(config: Config, **deps: Any) -> dict[str, Connector]:
    return {c.name: build_connector(c, **deps) for c in config.connectors}
