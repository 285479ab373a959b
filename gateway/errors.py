"""The gateway's own exceptions, drawn once here (httpx style).

    GatewayError
    ├── ConfigError          the configuration file or environment is wrong (names file and key)
    ├── DatabaseError        PostgreSQL cannot be reached or refused an operation we need
    ├── ConnectorError       a connector cannot do what was asked (not bound, closed)
    │   └── ConnectorClosed  the connector is shutting down and takes no more messages
    └── InputError           operator input (CLI, CSV/JSONL file) is invalid; names the line

The SMPP stack has its own tree in ``gateway.smpp.protocol.errors`` (protocol errors
stay protocol errors); foreign exceptions (asyncpg, aiohttp, OSError) are
translated where they enter, with ``raise ... from exc``.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of everything the gateway raises on purpose."""


class ConfigError(GatewayError):
    """The configuration is invalid. The message names the file, the key and the problem."""


class DatabaseError(GatewayError):
    """PostgreSQL is unreachable or refused something the gateway needs."""


class ConnectorError(GatewayError):
    """A connector cannot perform the requested operation."""


class ConnectorClosed(ConnectorError):
    """The connector is draining or closed and takes no more messages."""


class InputError(GatewayError):
    """Operator input (a CLI argument, a CSV/JSONL line) is invalid."""
