"""Which connector takes a message: the first matching rule, else the channel's default."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.port import Connector, OutboundMessage
from gateway.queue.config import RoutingConfig

__all__ = ["Router"]


class Router:
    def __init__(self, routing: RoutingConfig, connectors: Mapping[str, Connector]) -> None:
        self._rules = routing.rules
        self._default: dict[str, str] = {str(k): v for k, v in routing.default.items()}
        for c in connectors.values():  # a lone connector of a channel is its default
            self._default.setdefault(c.channel, c.name)
        self._connectors = connectors

    def route(self, message: OutboundMessage) -> Connector | None:
        for rule in self._rules:
            if rule.channel is not None and rule.channel != message.channel:
                continue
            if rule.sender is not None and rule.sender != message.sender:
                continue
            if rule.recipient_prefix is not None and not message.recipient.startswith(rule.recipient_prefix):
                continue
            return self._connectors[rule.connector]
        name = self._default.get(message.channel)
        return self._connectors.get(name) if name else None
